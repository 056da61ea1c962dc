module example.com/health-agent

go 1.25
