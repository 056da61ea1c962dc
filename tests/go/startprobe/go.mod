module example.com/startprobe

go 1.22
