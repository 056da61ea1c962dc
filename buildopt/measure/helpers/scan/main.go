// Command scan finds start-up anti-patterns in Go source files with go/parser and go/ast.
//
// It reads a JSON request on stdin - {"files": [{"path", "package", "generated"}]}, the files
// of the packages `go list` selected (build tags applied) - and writes a JSON report on stdout:
// {"calls": [...], "imports": [...], "inits": [...], "errors": [...]}. Judging the facts
// (severity, messages, fixes) is left to buildopt's Python side.
package main

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"sort"
	"strconv"
	"strings"
)

type request struct {
	Files []struct {
		Path    string `json:"path"`
		Package string `json:"package"`
	} `json:"files"`
}

// call is one runtime.GOMAXPROCS call.
type call struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Package  string `json:"package"`
	Arg      string `json:"arg"`      // "constant", "zero" (n < 1: only reads it), "numcpu", "flag" or "dynamic"
	Value    string `json:"value"`    // the argument's source text
	Number   *int64 `json:"number"`   // its value, when it is a constant (or a flag's default)
	Flag     string `json:"flag"`     // with "flag": the command-line flag that sets it
	Function string `json:"function"` // enclosing function ("" at package level)
	Context  string `json:"context"`  // "init", "package", "main", "handler", "function"
}

type importFact struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Package string `json:"package"`
	Path    string `json:"path"`
}

// initFact is an init function or a package-level variable initialiser, with its risks.
type initFact struct {
	File    string   `json:"file"`
	Line    int      `json:"line"`
	Column  int      `json:"column"`
	Package string   `json:"package"`
	Kind    string   `json:"kind"` // "init" or "var"
	Name    string   `json:"name"`
	Risks   []string `json:"risks"`
}

type parseError struct {
	File  string `json:"file"`
	Error string `json:"error"`
}

type report struct {
	Calls   []call       `json:"calls"`
	Imports []importFact `json:"imports"`
	Inits   []initFact   `json:"inits"`
	Errors  []parseError `json:"errors"`
}

func main() {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fmt.Fprintln(os.Stderr, "scan: bad request:", err)
		os.Exit(2)
	}
	fset := token.NewFileSet()
	byPackage := map[string][]*ast.File{}
	names := map[*ast.File]string{}
	rep := report{Calls: []call{}, Imports: []importFact{}, Inits: []initFact{}, Errors: []parseError{}}
	for _, f := range req.Files {
		file, err := parser.ParseFile(fset, f.Path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			rep.Errors = append(rep.Errors, parseError{f.Path, err.Error()})
			continue
		}
		byPackage[f.Package] = append(byPackage[f.Package], file)
		names[file] = f.Path
	}
	pkgs := make([]string, 0, len(byPackage))
	for p := range byPackage {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		scanPackage(fset, p, byPackage[p], &rep)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(rep); err != nil {
		os.Exit(1)
	}
}

// pkgInfo is what the rules need to know about one package.
type pkgInfo struct {
	fset   *token.FileSet
	path   string
	funcs  map[string]*ast.FuncDecl // package-level functions, for one level of init analysis
	consts map[string]ast.Expr      // package-level constants with a single value
	vars   map[string]ast.Expr      // package-level variables with a single initial value
	local  map[string]bool          // package-level names that shadow a dot-imported GOMAXPROCS
}

func scanPackage(fset *token.FileSet, path string, files []*ast.File, rep *report) {
	info := &pkgInfo{fset: fset, path: path, funcs: map[string]*ast.FuncDecl{},
		consts: map[string]ast.Expr{}, vars: map[string]ast.Expr{}, local: map[string]bool{}}
	for _, file := range files {
		for _, decl := range file.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					info.funcs[d.Name.Name] = d
					info.local[d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					if vs, ok := spec.(*ast.ValueSpec); ok {
						for i, n := range vs.Names {
							info.local[n.Name] = true
							if d.Tok == token.CONST && i < len(vs.Values) {
								info.consts[n.Name] = vs.Values[i]
							}
							if d.Tok == token.VAR && len(vs.Names) == len(vs.Values) {
								info.vars[n.Name] = vs.Values[i]
							}
						}
					}
				}
			}
		}
	}
	for _, file := range files {
		scanFile(info, file, rep)
	}
}

// runtimeNames: the identifiers that name package runtime in this file, and whether it is
// dot-imported (so that a bare GOMAXPROCS is runtime's unless the package declares its own).
func runtimeNames(info *pkgInfo, file *ast.File, rep *report) (map[string]bool, bool) {
	names := map[string]bool{}
	dot := false
	for _, imp := range file.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		pos := info.fset.Position(imp.Pos())
		if p == "go.uber.org/automaxprocs" || strings.HasPrefix(p, "go.uber.org/automaxprocs/") {
			rep.Imports = append(rep.Imports, importFact{pos.Filename, pos.Line, pos.Column, info.path, p})
		}
		if p != "runtime" {
			continue
		}
		switch {
		case imp.Name == nil:
			names["runtime"] = true
		case imp.Name.Name == ".":
			dot = true
		case imp.Name.Name != "_":
			names[imp.Name.Name] = true
		}
	}
	return names, dot
}

func scanFile(info *pkgInfo, file *ast.File, rep *report) {
	names, dot := runtimeNames(info, file, rep)
	isRuntime := func(e ast.Expr) bool {
		switch f := e.(type) {
		case *ast.SelectorExpr:
			x, ok := f.X.(*ast.Ident)
			return ok && names[x.Name] && !info.local[x.Name] && f.Sel.Name == "GOMAXPROCS"
		case *ast.Ident:
			return dot && f.Name == "GOMAXPROCS" && !info.local["GOMAXPROCS"]
		}
		return false
	}
	isNumCPU := func(e ast.Expr) bool {
		c, ok := e.(*ast.CallExpr)
		if !ok {
			return false
		}
		switch f := c.Fun.(type) {
		case *ast.SelectorExpr:
			x, ok := f.X.(*ast.Ident)
			return ok && names[x.Name] && f.Sel.Name == "NumCPU"
		case *ast.Ident:
			return dot && f.Name == "NumCPU" && !info.local["NumCPU"]
		}
		return false
	}
	record := func(c *ast.CallExpr, fn *ast.FuncDecl) {
		pos := info.fset.Position(c.Pos())
		entry := call{File: pos.Filename, Line: pos.Line, Column: pos.Column, Package: info.path}
		entry.Function, entry.Context = where(fn)
		if len(c.Args) != 1 {
			entry.Arg, entry.Value = "dynamic", "?"
		} else {
			entry.Arg, entry.Value = classify(info, c.Args[0], isNumCPU)
			entry.Value = types.ExprString(c.Args[0])
			if v, ok := constValue(info, c.Args[0], 0); ok {
				entry.Number = &v
			} else if name, v, ok := flagDefault(info, c.Args[0]); ok {
				entry.Arg, entry.Flag, entry.Number = "flag", name, &v
			}
		}
		rep.Calls = append(rep.Calls, entry)
	}
	for _, decl := range file.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			ast.Inspect(d, func(n ast.Node) bool {
				if c, ok := n.(*ast.CallExpr); ok && isRuntime(c.Fun) {
					record(c, d)
				}
				return true
			})
			if d.Recv == nil && d.Name.Name == "init" && d.Body != nil {
				pos := info.fset.Position(d.Pos())
				rep.Inits = append(rep.Inits, initFact{pos.Filename, pos.Line, pos.Column, info.path,
					"init", "init", risks(info, d.Body, map[string]bool{})})
			}
		case *ast.GenDecl:
			if d.Tok != token.VAR {
				continue
			}
			for _, spec := range d.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, value := range vs.Values {
					ast.Inspect(value, func(n ast.Node) bool {
						if c, ok := n.(*ast.CallExpr); ok && isRuntime(c.Fun) {
							record(c, nil)
						}
						return true
					})
					name := "_"
					if i < len(vs.Names) {
						name = vs.Names[i].Name
					}
					pos := info.fset.Position(vs.Pos())
					rep.Inits = append(rep.Inits, initFact{pos.Filename, pos.Line, pos.Column, info.path,
						"var", name, risks(info, value, map[string]bool{})})
				}
			}
		}
	}
}

func where(fn *ast.FuncDecl) (string, string) {
	if fn == nil {
		return "", "package"
	}
	name := fn.Name.Name
	switch {
	case fn.Recv == nil && name == "init":
		return name, "init"
	case fn.Recv == nil && name == "main":
		return name, "main"
	case isHandler(fn.Type):
		return name, "handler"
	}
	return name, "function"
}

// isHandler: func(w http.ResponseWriter, r *http.Request), by the parameter types' names.
func isHandler(t *ast.FuncType) bool {
	if t.Params == nil {
		return false
	}
	var params []string
	for _, field := range t.Params.List {
		s := types.ExprString(field.Type)
		for range max(1, len(field.Names)) {
			params = append(params, s)
		}
	}
	return len(params) == 2 && strings.HasSuffix(params[0], "ResponseWriter") &&
		strings.HasSuffix(params[1], "*http.Request")
}

// classify GOMAXPROCS's argument: a constant (below 1 it only reads the setting: "zero"),
// NumCPU(), or anything else.
func classify(info *pkgInfo, arg ast.Expr, isNumCPU func(ast.Expr) bool) (string, string) {
	if isNumCPU(arg) {
		return "numcpu", types.ExprString(arg)
	}
	if v, ok := constValue(info, arg, 0); ok {
		if v < 1 {
			return "zero", strconv.FormatInt(v, 10)
		}
		return "constant", strconv.FormatInt(v, 10)
	}
	return "dynamic", types.ExprString(arg)
}

// constValue evaluates an integer constant expression: literals, the package's named constants,
// parentheses, unary + and -, and + - * / % << >> & | ^.
func constValue(info *pkgInfo, e ast.Expr, depth int) (int64, bool) {
	if depth > 8 {
		return 0, false
	}
	switch x := e.(type) {
	case *ast.BasicLit:
		if x.Kind == token.INT {
			v, err := strconv.ParseInt(strings.ReplaceAll(x.Value, "_", ""), 0, 64)
			return v, err == nil
		}
	case *ast.ParenExpr:
		return constValue(info, x.X, depth+1)
	case *ast.Ident:
		if v, ok := info.consts[x.Name]; ok {
			return constValue(info, v, depth+1)
		}
	case *ast.UnaryExpr:
		v, ok := constValue(info, x.X, depth+1)
		switch {
		case ok && x.Op == token.SUB:
			return -v, true
		case ok && x.Op == token.ADD:
			return v, true
		}
	case *ast.CallExpr: // a conversion: int(4), int32(-1)
		if id, ok := x.Fun.(*ast.Ident); ok && len(x.Args) == 1 && strings.Contains(
			" int int8 int16 int32 int64 uint uint8 uint16 uint32 uint64 ", " "+id.Name+" ") {
			return constValue(info, x.Args[0], depth+1)
		}
	case *ast.BinaryExpr:
		a, ok1 := constValue(info, x.X, depth+1)
		b, ok2 := constValue(info, x.Y, depth+1)
		if ok1 && ok2 {
			return binary(x.Op, a, b)
		}
	}
	return 0, false
}

func binary(op token.Token, a, b int64) (int64, bool) {
	switch op {
	case token.ADD:
		return a + b, true
	case token.SUB:
		return a - b, true
	case token.MUL:
		return a * b, true
	case token.QUO:
		return a / b, b != 0
	case token.REM:
		return a % b, b != 0
	case token.SHL:
		return a << uint(b), b >= 0 && b < 63
	case token.SHR:
		return a >> uint(b), b >= 0 && b < 63
	case token.AND:
		return a & b, true
	case token.OR:
		return a | b, true
	case token.XOR:
		return a ^ b, true
	}
	return 0, false
}

// flagDefault follows *name, where name is a package-level variable set by flag.Int (Int64,
// Uint, Uint64), to the flag's name and its default value.
func flagDefault(info *pkgInfo, arg ast.Expr) (string, int64, bool) {
	star, ok := arg.(*ast.StarExpr)
	if !ok {
		return "", 0, false
	}
	id, ok := star.X.(*ast.Ident)
	if !ok {
		return "", 0, false
	}
	init, ok := info.vars[id.Name].(*ast.CallExpr)
	if !ok || len(init.Args) != 3 {
		return "", 0, false
	}
	sel, ok := init.Fun.(*ast.SelectorExpr)
	if !ok || !strings.Contains(" Int Int64 Uint Uint64 ", " "+sel.Sel.Name+" ") {
		return "", 0, false
	}
	if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "flag" {
		return "", 0, false
	}
	name, err := strconv.Unquote(types.ExprString(init.Args[0]))
	if err != nil {
		return "", 0, false
	}
	v, ok := constValue(info, init.Args[1], 0)
	return name, v, ok
}

// risks of init code: I/O, network, sync waits, sleeps, goroutines, allocation in loops and
// large allocations; calls to functions of the same package are followed. Only what runs now
// counts: a function literal is not run where it is written (sync.OnceValue(func...), a
// callback, var f = func(){...}), unless it is called on the spot (func(){...}(), go func(){...}())
// or handed to a sync.Once's Do.
func risks(info *pkgInfo, node ast.Node, seen map[string]bool) []string {
	found := map[string]bool{}
	var walk func(n ast.Node, loop int)
	follow := func(name string) {
		if fn, ok := info.funcs[name]; ok && !seen[name] && fn.Body != nil {
			seen[name] = true
			for _, r := range risks(info, fn.Body, seen) {
				found[r] = true
			}
		}
	}
	walk = func(n ast.Node, loop int) {
		ast.Inspect(n, func(m ast.Node) bool {
			switch x := m.(type) {
			case *ast.FuncLit:
				return false
			case *ast.GoStmt:
				found["starts goroutines"] = true
			case *ast.ForStmt:
				walk(x.Body, loop+1)
				return false
			case *ast.RangeStmt:
				walk(x.Body, loop+1)
				return false
			case *ast.CallExpr:
				if lit, ok := ast.Unparen(x.Fun).(*ast.FuncLit); ok {
					walk(lit.Body, loop)
				}
				if fn, ok := onceDo(info, x); ok {
					if lit, isLit := fn.(*ast.FuncLit); isLit {
						walk(lit.Body, loop)
					} else {
						follow(types.ExprString(fn))
					}
					return true
				}
				name := types.ExprString(x.Fun)
				if r := callRisk(name); r != "" {
					found[r] = true
				}
				if (name == "make" || name == "append" || name == "new") && loop > 0 {
					found["allocates in a loop"] = true
				}
				if name == "make" && len(x.Args) > 1 {
					if v, ok := constValue(info, x.Args[1], 0); ok && v >= 1<<20 {
						found["large allocation"] = true
					}
				}
				follow(name)
			}
			return true
		})
	}
	walk(node, 0)
	out := make([]string, 0, len(found))
	for r := range found {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// onceDo: the function a sync.Once-style x.Do(f) runs now: one argument, a function literal
// or a function of the package (an HTTP client's Do takes a request instead).
func onceDo(info *pkgInfo, c *ast.CallExpr) (ast.Expr, bool) {
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Do" || len(c.Args) != 1 {
		return nil, false
	}
	switch arg := ast.Unparen(c.Args[0]).(type) {
	case *ast.FuncLit:
		return arg, true
	case *ast.Ident:
		_, isFunc := info.funcs[arg.Name]
		return arg, isFunc
	}
	return nil, false
}

func callRisk(name string) string {
	switch {
	case strings.HasPrefix(name, "os.Open"), strings.HasPrefix(name, "os.ReadFile"),
		strings.HasPrefix(name, "os.Create"), strings.HasPrefix(name, "os.WriteFile"),
		strings.HasPrefix(name, "ioutil."), strings.HasPrefix(name, "os.ReadDir"):
		return "file I/O"
	case strings.HasPrefix(name, "net.Dial"), strings.HasPrefix(name, "net.Listen"),
		strings.HasPrefix(name, "http.Get"), strings.HasPrefix(name, "http.Post"),
		strings.HasPrefix(name, "sql.Open"), strings.HasPrefix(name, "net.Lookup"),
		strings.HasSuffix(name, ".Do"):
		return "network"
	case name == "time.Sleep":
		return "sleeps"
	case strings.HasSuffix(name, ".Wait"):
		// Not .Lock: package initialisation runs on one goroutine, so the registry mutex that
		// init() takes (Register(...) under mu.Lock) is never contended there.
		return "waits (sync)"
	}
	return ""
}
