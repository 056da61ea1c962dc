module buildopt.invalid/spawn

go 1.21
