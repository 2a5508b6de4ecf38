package accesslog

// Exported for the external tests that check pkg/logformat against the
// captured haproxy lines.
var (
	ParseHTTPLog = parseHTTPLog
	ParseTCPLog  = parseTCPLog
	IsHTTPLog    = isHTTPLog
	GoldenFiles  = []string{goldenFile, goldenLongFile}
)
