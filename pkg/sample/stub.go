package sample

// Placeholder implementations so that the contract in sample.go compiles;
// the engine replaces this file.

type exprImpl struct{}

func (exprImpl) eval(*Txn) (Value, bool) { return Value{}, false }

type condImpl struct{}

func (condImpl) eval(*Txn) bool { return false }

type aclImpl struct{}
