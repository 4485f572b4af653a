package layers

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoHandWrittenXML holds the rule of issue 17: stanzas and payloads
// are built with mellium's token streams or encoding/xml, never printed.
// It reads every non-test Go file outside the test harness and fails on
// what hand-written XML looks like in Go: a format string that starts with
// "<", WriteString of a literal that does, []byte of such a literal, a
// literal that starts with an end tag or an XML declaration, and a literal
// holding a namespace declaration. A literal only compared with input
// (bytes.HasPrefix(b, []byte("<?xml"))) reads XML and is let be. Comments are not
// code, and text that merely contains "<" (an operator's hint such as
// component_secret = "<the value>") does not start with it.
func TestNoHandWrittenXML(t *testing.T) {
	root := filepath.Join("..", "..")
	var found []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || rel == "internal/testkit") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		bad, err := handWrittenXML(path)
		if err != nil {
			return err
		}
		for _, b := range bad {
			found = append(found, rel+":"+b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("%s; build it with encoding/xml or mellium's xmlstream and stanza", f)
	}
}

// readers are the functions of packages bytes and strings that only
// compare a literal with input: []byte("<?xml") passed to them reads XML,
// it writes none.
var readers = map[string]bool{
	"HasPrefix": true, "HasSuffix": true, "Contains": true, "Index": true, "LastIndex": true,
	"Equal": true, "Cut": true, "CutPrefix": true, "CutSuffix": true, "TrimPrefix": true,
	"TrimSuffix": true, "Count": true,
}

// handWrittenXML lists, as "line: what", the places in the Go file at path
// that write XML by hand.
func handWrittenXML(path string) ([]string, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	var bad []string
	report := func(n ast.Node, what string) {
		bad = append(bad, fmt.Sprintf("%d: %s", fset.Position(n.Pos()).Line, what))
	}
	var stack []ast.Node
	ast.Inspect(file, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		var parent, grandparent ast.Node
		if len(stack) > 0 {
			parent = stack[len(stack)-1]
		}
		if len(stack) > 1 {
			grandparent = stack[len(stack)-2]
		}
		stack = append(stack, n)
		switch n := n.(type) {
		case *ast.BasicLit:
			s, ok := stringLit(n)
			switch {
			case !ok:
			case strings.Contains(s, "xmlns='") || strings.Contains(s, `xmlns="`):
				report(n, "a string literal declares a namespace: "+short(s))
			case strings.HasPrefix(s, "</"):
				report(n, "a string literal starts with an end tag: "+short(s))
			case strings.HasPrefix(s, "<?xml") && !comparedOnly(parent) && !(isConversion(parent) && comparedOnly(grandparent)):
				report(n, "a string literal starts with an XML declaration: "+short(s))
			}
		case *ast.CallExpr:
			if s, ok := startsWithTag(formatArg(n)); ok {
				report(n, "a format string starts with a tag: "+short(s))
			}
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "WriteString" && len(n.Args) == 1 {
				if s, ok := startsWithTag(n.Args[0]); ok {
					report(n, "WriteString of a tag: "+short(s))
				}
			}
			if isByteSlice(n.Fun) && len(n.Args) == 1 && !comparedOnly(parent) {
				if s, ok := startsWithTag(n.Args[0]); ok {
					report(n, "[]byte of a tag: "+short(s))
				}
			}
		}
		return true
	})
	return bad, nil
}

// formatArg returns the format argument of a call to fmt's printf family.
func formatArg(call *ast.CallExpr) ast.Expr {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return nil
	}
	if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "fmt" {
		return nil
	}
	at := -1
	switch sel.Sel.Name {
	case "Sprintf", "Printf", "Errorf":
		at = 0
	case "Fprintf", "Appendf":
		at = 1
	}
	if at < 0 || len(call.Args) <= at {
		return nil
	}
	return call.Args[at]
}

// isConversion reports whether n is []byte(…).
func isConversion(n ast.Node) bool {
	call, ok := n.(*ast.CallExpr)
	return ok && isByteSlice(call.Fun)
}

func isByteSlice(e ast.Expr) bool {
	a, ok := e.(*ast.ArrayType)
	if !ok || a.Len != nil {
		return false
	}
	id, ok := a.Elt.(*ast.Ident)
	return ok && (id.Name == "byte" || id.Name == "uint8")
}

// comparedOnly reports whether parent is a call of package bytes or
// strings that only compares its arguments with each other.
func comparedOnly(parent ast.Node) bool {
	call, ok := parent.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && (pkg.Name == "bytes" || pkg.Name == "strings") && readers[sel.Sel.Name]
}

// startsWithTag returns the literal e when it is a string that starts
// with "<".
func startsWithTag(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok {
		return "", false
	}
	s, ok := stringLit(lit)
	return s, ok && strings.HasPrefix(s, "<")
}

func stringLit(lit *ast.BasicLit) (string, bool) {
	if lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

func short(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strconv.Quote(s)
}
