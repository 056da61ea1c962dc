module example.com/billing-gateway

go 1.25
