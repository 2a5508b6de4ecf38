package keepalived

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// dropCode unmaps, from this process only, the pages of its own executable
// that are read-only (code and constants): they stay in the page cache,
// and the next use of one faults it back in. A Go binary's start-up
// (parsing, netlink, logging of every instance) touches ~6.5 MiB of them
// per process, counted in its RSS for as long as it runs, while an idle
// process uses a few hundred KiB: the runtime's scheduler and timers, the
// advert path. MADV_DONTNEED on a private read-only file mapping only drops
// this process's mappings; writable mappings (data, bss) are never passed
// (DONTNEED would reset them to the file's contents), and locked memory
// (vrrp_no_swap) refuses it, which is ignored.
func dropCode() {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	type span struct{ lo, hi uintptr }
	var spans []span
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 00400000-00c9a000 r-xp 00000000 fe:00 1234   /usr/sbin/keepalived
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || (fields[1] != "r-xp" && fields[1] != "r--p") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || b <= a {
			continue
		}
		spans = append(spans, span{uintptr(a), uintptr(b)})
	}
	f.Close()
	for _, s := range spans {
		_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, s.lo, s.hi-s.lo, syscall.MADV_DONTNEED)
	}
}
