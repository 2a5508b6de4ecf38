package sample

// Placeholder implementations so that the contract in sample.go compiles;
// the engine replaces this file.

type exprImpl struct{}

func (exprImpl) eval(*Txn) (Value, bool) { return Value{}, false }

type condImpl struct{}

func (condImpl) eval(*Txn) bool { return false }

type aclImpl struct{}

func parseExpr(string, *ParseOptions) (*Expr, error)           { return nil, ErrSyntax }
func parseACL(string, []string, *ParseOptions) (*ACL, error)   { return nil, ErrSyntax }
func addACL(ACLSet, *ACL)                                      {}
func parseCond([]string, ACLSet, *ParseOptions) (*Cond, error) { return nil, ErrSyntax }
