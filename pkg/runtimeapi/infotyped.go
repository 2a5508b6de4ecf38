package runtimeapi

// infoTypes gives each `show info` field its position in haproxy 2.6's
// info array and the tags and type `show info typed` prints with it
// (origin, nature, scope letters as stats_emit_field_tags writes them,
// then the type), measured on haproxy 2.6.12 and checked against
// src/stats.c's stats_fill_info. Positions 45, 46 (OpenSSL versions) and
// 51 (description) are fields gproxy, like a haproxy without them, leaves
// empty, so neither form prints them.
var infoTypes = map[string]struct {
	pos  int
	tags string
}{
	"Name": {0, "POS:str"}, "Version": {1, "POS:str"}, "Release_date": {2, "POS:str"},
	"Nbthread": {3, "CGS:u32"}, "Nbproc": {4, "CGS:u32"}, "Process_num": {5, "KGP:u32"},
	"Pid": {6, "SGP:u32"}, "Uptime": {7, "MDP:str"}, "Uptime_sec": {8, "MDP:u32"},
	"Memmax_MB": {9, "CLP:u32"}, "PoolAlloc_MB": {10, "MGP:u32"}, "PoolUsed_MB": {11, "MGP:u32"},
	"PoolFailed": {12, "MCP:u32"}, "Ulimit-n": {13, "CLP:u32"}, "Maxsock": {14, "CLP:u32"},
	"Maxconn": {15, "CLP:u32"}, "Hard_maxconn": {16, "CLP:u32"}, "CurrConns": {17, "MGP:u32"},
	"CumConns": {18, "MCP:u32"}, "CumReq": {19, "MCP:u32"}, "MaxSslConns": {20, "MMP:u32"},
	"CurrSslConns": {21, "MGP:u32"}, "CumSslConns": {22, "MCP:u32"}, "Maxpipes": {23, "CLP:u32"},
	"PipesUsed": {24, "MGP:u32"}, "PipesFree": {25, "MGP:u32"}, "ConnRate": {26, "MRP:u32"},
	"ConnRateLimit": {27, "CLP:u32"}, "MaxConnRate": {28, "MMP:u32"}, "SessRate": {29, "MRP:u32"},
	"SessRateLimit": {30, "CLP:u32"}, "MaxSessRate": {31, "MRP:u32"}, "SslRate": {32, "MRP:u32"},
	"SslRateLimit": {33, "CLP:u32"}, "MaxSslRate": {34, "MMP:u32"}, "SslFrontendKeyRate": {35, "MGP:u32"},
	"SslFrontendMaxKeyRate": {36, "MMP:u32"}, "SslFrontendSessionReuse_pct": {37, "MGP:u32"},
	"SslBackendKeyRate": {38, "MRP:u32"}, "SslBackendMaxKeyRate": {39, "MMP:u32"},
	"SslCacheLookups": {40, "MCP:u32"}, "SslCacheMisses": {41, "MCP:u32"}, "CompressBpsIn": {42, "MRP:u32"},
	"CompressBpsOut": {43, "MRP:u32"}, "CompressBpsRateLim": {44, "CLP:u32"},
	"Tasks": {47, "MGP:u32"}, "Run_queue": {48, "MGP:u32"}, "Idle_pct": {49, "MaP:u32"}, "node": {50, "COS:str"},
	"Stopping": {52, "MGP:u32"}, "Jobs": {53, "MGP:u32"}, "Unstoppable Jobs": {54, "MGP:u32"},
	"Listeners": {55, "MGP:u32"}, "ActivePeers": {56, "MGP:u32"}, "ConnectedPeers": {57, "MGP:u32"},
	"DroppedLogs": {58, "MGP:u32"}, "BusyPolling": {59, "MGP:u32"}, "FailedResolutions": {60, "MGP:u32"},
	"TotalBytesOut": {61, "MGP:u64"}, "TotalSplicdedBytesOut": {62, "MGP:u64"}, "BytesOutRate": {63, "MRP:u64"},
	"DebugCommandsIssued": {64, "MGP:u32"}, "CumRecvLogs": {65, "MCP:u32"}, "Build info": {66, "POS:str"},
	"Memmax_bytes": {67, "CLP:u32"}, "PoolAlloc_bytes": {68, "MGP:u64"}, "PoolUsed_bytes": {69, "MGP:u64"},
	"Start_time_sec": {70, "MDP:u32"}, "Tainted": {71, "SGP:str"},
}
