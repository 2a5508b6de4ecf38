package vrrpfsm

import "time"

// skew is keepalived's VRRP_TIMER_SKEW_CALC (vrrp.h) for a priority value
// pv (256 - priority for the skew time, 1 for the minimum skew), in whole
// microseconds as keepalived computes it:
//   - VRRPv2 (RFC 3768 Section 6.1): pv/256 s, whatever the advert interval;
//   - VRRPv3 (RFC 5798 Section 6.1): pv × Master_Adver_Interval / 256, with
//     the interval taken in centiseconds.
func skew(version int, pv int, masterAdvInt time.Duration) time.Duration {
	if version == 3 {
		cs := int64(masterAdvInt / (10 * time.Millisecond))
		return time.Duration(int64(pv)*cs*625/16) * time.Microsecond
	}
	return time.Duration(int64(pv)*1000000/256) * time.Microsecond
}

// SkewTime is the Skew_Time of RFC 3768/5798 Section 6.1 for an effective
// priority, as keepalived computes it (truncated to microseconds).
func SkewTime(version, prio int, masterAdvInt time.Duration) time.Duration {
	return skew(version, 256-prio, masterAdvInt)
}

// MasterDownInterval is adverts × Master_Adver_Interval + Skew_Time
// (RFC 5798 Section 6.1; keepalived's VRRP_MS_DOWN_TIMER).
func MasterDownInterval(version, prio, adverts int, masterAdvInt time.Duration) time.Duration {
	return time.Duration(adverts)*masterAdvInt + SkewTime(version, prio, masterAdvInt)
}
