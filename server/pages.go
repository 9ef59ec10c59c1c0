package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/web"
)

// LangCookie remembers the interface language the user chose.
const LangCookie = "omstil_lang"

// KioskCookie holds the API token of a wallboard in kiosk mode (a TV): it
// lets that browser read the live feed and nothing else.
const KioskCookie = "omstil_kiosk"

// pages renders the HTML pages; the texts come from web's string files.
type pages struct {
	tmpl    map[string]*template.Template
	strings map[string]web.Strings
	json    map[string]string // the strings of each language as JSON, for the scripts

	demo bool // Options.Demo: every page says the calls are simulated

	all      []web.AdminSection // every module under web/static/admin that is a section
	once     sync.Once
	sections []web.AdminSection // those whose API exists, found on first use
}

// navItem is a link in the admin section list.
type navItem struct {
	Name    string
	Current bool
}

// langLink switches the interface language.
type langLink struct {
	Code, Name, Href string
	Current          bool
}

// pageUser is what a page shows of the logged-in user.
type pageUser struct {
	ID   config.UserID
	Name string
	Role config.Role
}

// pageData is what every template gets.
type pageData struct {
	Lang        string
	Str         web.Strings
	StringsJSON string
	User        *pageUser
	Page        string // login, admin, wallboard, noaccess, home
	Section     string
	Sections    []navItem
	Script      string // module under /static/ for this page
	Kiosk       bool
	Demo        bool // the installation runs on the ARI simulator (Options.Demo)
	OIDC        bool
	OIDCError   string // key of the text explaining a failed OIDC login
	Next        string
	LangLinks   []langLink
}

// T returns the text of key in the page's language.
func (p pageData) T(key string) string { return p.Str.T(key) }

// IsAdmin and CanSupervise steer which links the header shows; the API
// enforces the roles regardless.
func (p pageData) IsAdmin() bool { return p.User != nil && p.User.Role.AtLeast(config.RoleAdmin) }
func (p pageData) CanSupervise() bool {
	return p.User != nil && p.User.Role.AtLeast(config.RoleSupervisor)
}

func newPages(demo bool) (*pages, error) {
	tmpl, err := web.Templates()
	if err != nil {
		return nil, err
	}
	strs, err := web.LoadStrings()
	if err != nil {
		return nil, err
	}
	// The sections are the modules that say so (web.AdminSection): adding
	// an admin page is a module and its strings, no list here.
	secs, err := web.AdminSections()
	if err != nil {
		return nil, err
	}
	p := &pages{tmpl: tmpl, strings: strs, json: map[string]string{}, demo: demo, all: secs}
	for lang, s := range strs {
		for k, v := range s {
			s[k] = fillRules(v)
		}
		b, err := json.Marshal(s)
		if err != nil {
			return nil, err
		}
		p.json[lang] = string(b)
	}
	return p, nil
}

// fillRules writes the rules the API enforces into a text that names
// them, so the UI cannot promise another rule: {minPasswordLength}.
func fillRules(text string) string {
	return strings.ReplaceAll(text, "{minPasswordLength}", strconv.Itoa(config.MinPasswordLength))
}

// homePage sends visitors to the page for their role: anonymous ones to
// the login, supervisors and admins to the wallboard.
func (s *Server) homePage(c *gin.Context) {
	u, ok := currentUser(c)
	switch {
	case !ok:
		c.Redirect(http.StatusSeeOther, "/login")
	case u.Role.AtLeast(config.RoleSupervisor):
		c.Redirect(http.StatusSeeOther, "/wallboard")
	default:
		s.pages.render(c, http.StatusOK, "home", "home", "")
	}
}

func (s *Server) loginPage(c *gin.Context) {
	p := s.pages
	d := p.data(c, "login", "login.js")
	d.User = nil
	d.Next = safeNext(c.Query("next"))
	d.OIDC = s.oidc != nil
	if e := c.Query("oidc_error"); e != "" {
		d.OIDCError = "login.oidcError." + oidcErrorKey(e)
	}
	p.write(c, http.StatusOK, "login", d)
}

func (s *Server) wallboardPage(c *gin.Context) {
	p := s.pages
	if !p.allow(c, config.RoleSupervisor) {
		return
	}
	d := p.data(c, "wallboard", "wallboard.js")
	_, d.Kiosk = c.Get(ctxKiosk)
	p.write(c, http.StatusOK, "wallboard", d)
}

// adminPage serves /admin (a redirect to the first section) and
// /admin/:section. The sections offered are those whose API routes are
// registered, looked up on first use, after every route is in.
func (s *Server) adminPage(c *gin.Context) {
	p := s.pages
	if !p.allow(c, config.RoleAdmin) {
		return
	}
	secs := p.available(s)
	name := strings.Trim(c.Param("section"), "/")
	if name == "" && len(secs) > 0 {
		c.Redirect(http.StatusSeeOther, "/admin/"+secs[0].Name)
		return
	}
	i := slices.IndexFunc(secs, func(a web.AdminSection) bool { return a.Name == name })
	if i < 0 {
		s.fail(c, errNotFound("page"))
		return
	}
	d := p.data(c, "admin", "admin.js")
	d.Section = name
	for _, a := range secs {
		d.Sections = append(d.Sections, navItem{a.Name, a.Name == name})
	}
	p.write(c, http.StatusOK, "admin", d)
}

// available returns the admin sections whose API routes are registered,
// so the UI never offers what the API cannot do.
func (p *pages) available(s *Server) []web.AdminSection {
	p.once.Do(func() {
		have := map[string]bool{}
		for _, r := range s.engine.Routes() {
			have[r.Path] = true
		}
		for _, a := range p.all {
			if have[a.API] {
				p.sections = append(p.sections, a)
			}
		}
	})
	return p.sections
}

// allow sends anonymous visitors to the login page and shows users below
// min a "no access" page; it reports whether the page may be shown.
func (p *pages) allow(c *gin.Context, min config.Role) bool {
	u, ok := currentUser(c)
	if !ok {
		c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
		return false
	}
	if !u.Role.AtLeast(min) {
		p.render(c, http.StatusForbidden, "noaccess", "noaccess", "")
		return false
	}
	return true
}

func (p *pages) data(c *gin.Context, page, script string) pageData {
	lang := c.GetString(ctxLang)
	d := pageData{Lang: lang, Str: p.strings[lang], StringsJSON: p.json[lang], Page: page, Script: script, Demo: p.demo}
	if u, ok := currentUser(c); ok {
		name := u.DisplayName
		if name == "" {
			name = u.Username
		}
		d.User = &pageUser{ID: u.ID, Name: name, Role: u.Role}
	}
	for _, l := range web.Languages {
		q := c.Request.URL.Query()
		q.Set("lang", l)
		d.LangLinks = append(d.LangLinks, langLink{Code: l, Name: p.strings[l].T("lang.name"),
			Href: c.Request.URL.Path + "?" + q.Encode(), Current: l == lang})
	}
	return d
}

func (p *pages) render(c *gin.Context, status int, name, page, script string) {
	p.write(c, status, name, p.data(c, page, script))
}

func (p *pages) write(c *gin.Context, status int, name string, d pageData) {
	var buf bytes.Buffer
	if err := p.tmpl[name].ExecuteTemplate(&buf, "layout", d); err != nil {
		c.Error(err)
		c.AbortWithStatus(http.StatusInternalServerError)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

const ctxLang = "omstil.lang"

// language picks the page language: ?lang= (remembered in a cookie and
// dropped from the address), else the cookie, else Danish. The browser's
// Accept-Language is not used: omstil is Danish unless a user asks.
func (s *Server) language(c *gin.Context) {
	if q := c.Query("lang"); q != "" && slices.Contains(web.Languages, q) {
		http.SetCookie(c.Writer, &http.Cookie{Name: LangCookie, Value: q, Path: "/", MaxAge: 365 * 24 * 3600,
			SameSite: http.SameSiteLaxMode, Secure: s.opts.SecureCookies})
		u := *c.Request.URL
		v := u.Query()
		v.Del("lang")
		u.RawQuery = v.Encode()
		c.Redirect(http.StatusSeeOther, u.RequestURI())
		c.Abort()
		return
	}
	lang := web.DefaultLanguage
	if ck, err := c.Cookie(LangCookie); err == nil && slices.Contains(web.Languages, ck) {
		lang = ck
	}
	c.Set(ctxLang, lang)
	c.Next()
}

// safeNext returns next when it is a path on this site, else "". It is
// the one check of a post-login address, for the login page and OIDC.
// Browsers drop tabs and newlines anywhere in a URL, trim leading
// blanks and controls and read \ as /, so "/\t/evil" or "/\\evil" is
// "//evil", another site: any control character or backslash refuses
// the address, and what is left must be a path that starts with exactly
// one "/" and has no scheme or host.
func safeNext(next string) string {
	if len(next) > 2048 {
		return ""
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f || r == '\\' || (r >= 0x80 && r <= 0x9f) {
			return ""
		}
	}
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return ""
	}
	return next
}

const ctxKiosk = "omstil.kiosk"

// kioskLogin turns /wallboard?token=… into a kiosk cookie and sends the
// browser to /wallboard without the token in the address. The token must
// be a kiosk-scoped token (config.ScopeKiosk) of a supervisor or admin:
// a full API token is refused, as it would sit in a cookie. With a valid
// kiosk cookie the wallboard is shown read-only.
func (s *Server) kioskLogin(c *gin.Context) {
	if tok := c.Query("token"); tok != "" {
		u, scope, err := s.opts.Store.TokenUser(c.Request.Context(), tok)
		if err != nil || scope != config.ScopeKiosk || !u.Role.AtLeast(config.RoleSupervisor) {
			if err != nil && !errors.Is(err, config.ErrNotFound) {
				s.fail(c, err)
				return
			}
			s.fail(c, errUnauthorized())
			return
		}
		http.SetCookie(c.Writer, &http.Cookie{Name: KioskCookie, Value: tok, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.opts.SecureCookies})
		c.Redirect(http.StatusSeeOther, "/wallboard")
		c.Abort()
		return
	}
	s.authenticateKiosk(c)
}

// authenticateKiosk accepts the kiosk cookie on the wallboard and the live
// feed (both read-only) when the request has no other credentials.
func (s *Server) authenticateKiosk(c *gin.Context) {
	if _, ok := currentUser(c); ok || c.GetHeader("Authorization") != "" {
		return
	}
	ck, err := c.Cookie(KioskCookie)
	if err != nil || ck == "" {
		return
	}
	u, scope, err := s.opts.Store.TokenUser(c.Request.Context(), ck)
	if err != nil || scope != config.ScopeKiosk || !u.Role.AtLeast(config.RoleSupervisor) {
		return
	}
	c.Set(ctxUser, u)
	c.Set(ctxKiosk, true)
}

// oidcErrorKey keeps the reason in the login page's address to the ones
// the page has texts for.
func oidcErrorKey(reason string) string {
	switch reason {
	case "unavailable", "expired", "refused", "norole", "deactivated", "conflict":
		return reason
	}
	return "failed"
}
