module buildopt.invalid/scan

go 1.22
