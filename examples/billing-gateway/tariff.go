package main

import (
	"fmt"
	"strconv"
)

const (
	tariffPlans = 6000
	tariffZones = 16
	tariffSteps = 24 // hourly rate steps per plan and zone
)

// Tariff is one plan's rating rule for one zone.
type Tariff struct {
	Plan     string
	Zone     int
	Setup    int64   // micro-units per call
	PerMin   []int64 // micro-units per minute, by hour of day
	Discount []float64
	Notes    string
}

// Charge rates minutes at the first hourly step (a stand-in for real rating).
func (t Tariff) Charge(minutes int) int64 {
	total := t.Setup + int64(minutes)*t.PerMin[0]
	return int64(float64(total) * (1 - t.Discount[0]))
}

func tariffKey(plan string, zone int) string {
	return plan + "/" + strconv.Itoa(zone)
}

// buildTariffTable builds the whole table in memory: 96,000 entries with their own
// slices and strings - the allocation-heavy start-up work of the legacy service.
func buildTariffTable() map[string]Tariff {
	table := make(map[string]Tariff)
	for p := 0; p < tariffPlans; p++ {
		plan := fmt.Sprintf("plan-%06d", p)
		for z := 0; z < tariffZones; z++ {
			per := make([]int64, tariffSteps)
			disc := make([]float64, tariffSteps)
			for h := range per {
				per[h] = int64(1000 + (p*7+z*13+h*31)%5000)
				disc[h] = float64((p+z+h)%20) / 100
			}
			table[tariffKey(plan, z)] = Tariff{
				Plan: plan, Zone: z, Setup: int64(100 + p%900), PerMin: per, Discount: disc,
				Notes: fmt.Sprintf("plan %s zone %d: %d hourly steps", plan, z, tariffSteps),
			}
		}
	}
	return table
}
