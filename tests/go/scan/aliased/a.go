package aliased

import rt "runtime"

func init() {
	rt.GOMAXPROCS(8)
}
