package sample

// CompileRegex compiles a regex of the configuration (rule actions such
// as replace-header) as the ACL patterns are: a PCRE-only construct is
// refused rather than matched differently, errors are worded as haproxy's
// PCRE2 ones ("regex '(' is invalid (error=..., erroffset=N)").
func CompileRegex(s string, icase bool) (*Regex, error) { return compileRegex(s, icase) }
