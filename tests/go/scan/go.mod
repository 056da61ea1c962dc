module example.com/scancorpus

go 1.24
