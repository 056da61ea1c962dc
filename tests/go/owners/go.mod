module example.com/owners

go 1.22
