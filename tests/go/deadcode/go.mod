module example.com/deadcode

go 1.22
