// SPDX-License-Identifier: MIT

package profile2metrics_test

import (
	"fmt"
	"os"

	"profile2metrics"
)

func Example() {
	conv, err := profile2metrics.NewConverter(profile2metrics.Config{
		Memory: &profile2metrics.Metric{Enabled: false}, // cpu_time only
	})
	if err != nil {
		panic(err) // an *Error naming the configuration field
	}
	defer conv.Close()
	profiles, _ := os.ReadFile("../../examples/demo.otlp")
	metrics, stats, err := conv.ConvertStats(profiles) // OTLP metrics, protobuf
	if err != nil {
		panic(err) // an *Error: status, byte offset, message
	}
	fmt.Println(len(metrics) > 0, stats.Samples, stats.Series)
	// Output: true 20 8
}
