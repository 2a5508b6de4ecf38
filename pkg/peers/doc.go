// Package peers replicates stick tables between processes with haproxy
// 2.6's peers protocol (configuration manual section 3.5 "Peers",
// doc/peers-v2.0.txt; the codec is package wire), so that gproxy and
// haproxy 2.6 nodes share their tables.
//
// A Section is one `peers` section: it listens on the local peer's
// address, connects to every remote peer (again 5 s after a failure), and
// on each established session
//
//   - pushes the local changes of every table the section syncs (entries
//     touched by traffic), as haproxy's "process" updates, and acks what it
//     receives;
//   - teaches everything it knows when the peer asks for a resync, ending
//     with "resync finished" (or "partial" when it is not up to date
//     itself);
//   - learns: a new process first waits up to 5 s for its old local
//     process to push its tables (a reload, `-sf`), then asks a connected
//     remote peer for a full resync (5 s more), then considers itself up
//     to date;
//   - sends a heartbeat after 3 s without traffic, and drops a session that
//     stays silent too long, reconnecting after a random 50 ms–2 s.
//
// On a soft stop (SoftStop) the section closes its sessions and its
// listener, connects to its own address, where the new process listens,
// and pushes its tables there before the old process exits, as haproxy
// does on reload.
package peers
