module buildopt.invalid/startprog

go 1.22
