package server_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// routeMethods are the gin methods that register a route or middleware.
var routeMethods = []string{
	"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "Any", "Match", "Handle",
	"Group", "Use", "Static", "StaticFS", "StaticFile", "StaticFileFS", "NoRoute", "NoMethod",
}

// routeTable is the one function allowed to call them, and
// routeTableStandby the table of a standby (NewStandby), in the same file.
const routeTableFile, routeTableFunc, routeTableStandby = "routes.go", "registerRoutes", "registerStandbyRoutes"

// registrations returns, for one parsed file, every call of a route
// method outside the route table, as "file:line: x.GET(...) in func".
func registrations(fset *token.FileSet, name string, f *ast.File) []string {
	var out []string
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Body == nil {
			continue
		}
		if filepath.Base(name) == routeTableFile && (fn.Name.Name == routeTableFunc || fn.Name.Name == routeTableStandby) {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if ok && slices.Contains(routeMethods, sel.Sel.Name) {
				out = append(out, fset.Position(call.Pos()).String()+": ."+sel.Sel.Name+"(…) in func "+fn.Name.Name)
			}
			return true
		})
	}
	return out
}

// TestRoutesRegisteredInOneFunction keeps every route of omstil in the
// route table (routes.go registerRoutes), so that one function answers
// "which routes exist, with which role": no other function of the
// server package may register a route, a group or a middleware.
func TestRoutesRegisteredInOneFunction(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue // tests may build engines of their own
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, r := range registrations(fset, name, f) {
			t.Errorf("%s: routes are registered only in %s %s (the one route table); move it there", r, routeTableFile, routeTableFunc)
		}
	}
	if checked < 10 {
		t.Fatalf("only %d files of the server package found", checked)
	}
}

// TestRegistrationsFindsStrayRoutes: the check above reports a route
// registered outside the table, and none inside it.
func TestRegistrationsFindsStrayRoutes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file, src string
		want      int
	}{
		{"routes.go", `package server
func (s *Server) registerRoutes() { e.GET("/a", h); g := e.Group("/b"); g.POST("/c", h) }`, 0},
		{"routes.go", `package server
func (s *Server) registerMore() { s.engine.GET("/a", h) }`, 1},
		{"pages.go", `package server
func (s *Server) registerRoutes() { e.GET("/a", h) }`, 1},
		{"pages.go", `package server
func (s *Server) registerPages() { g := s.engine.Group("", mw); g.GET("/", h); g.StaticFS("/s", fs) }`, 3},
		{"pages.go", `package server
func (s *Server) render() { c.JSON(200, x); c.Header("a", "b") }`, 0},
	}
	for _, tc := range cases {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, tc.file, tc.src, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := registrations(fset, tc.file, f); len(got) != tc.want {
			t.Errorf("%s %q: %d registrations found, want %d: %v", tc.file, tc.src, len(got), tc.want, got)
		}
	}
}
