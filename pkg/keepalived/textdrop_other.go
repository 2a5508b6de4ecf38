//go:build !linux

package keepalived

func dropCode() {}
