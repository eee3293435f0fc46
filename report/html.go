package report

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"
)

// Page is what the HTML page shows: every report and the chart series.
type Page struct {
	Filter    Filter
	Generated time.Time
	Reports   []Report
	Charts    Report
}

// Collect computes every report and the chart series for the page.
func Collect(ctx context.Context, db Querier, f Filter) (Page, error) {
	if f.Now.IsZero() {
		f.Now = time.Now()
	}
	p := Page{Filter: f, Generated: f.Now.UTC()}
	for _, n := range Names {
		r, err := Run(ctx, db, n, f)
		if err != nil {
			return Page{}, err
		}
		p.Reports = append(p.Reports, r)
	}
	c, err := Run(ctx, db, "charts", f)
	if err != nil {
		return Page{}, err
	}
	p.Charts = c
	return p, nil
}

// WriteHTML writes the page: one self-contained HTML document (inline CSS
// and SVG, no script, nothing fetched at view time).
func WriteHTML(w io.Writer, p Page) error {
	caseload := Table{}
	for _, r := range p.Reports {
		if t := r.Table("open-cases"); t != nil {
			caseload = *t
		}
	}
	data := struct {
		Page
		Scope          string
		Weekly, Turns  template.HTML
		CaseloadPhases template.HTML
	}{Page: p, Scope: scope(p.Filter)}
	if t := p.Charts.Table("weekly"); t != nil {
		data.Weekly = lineChart(*t)
	}
	if t := p.Charts.Table("turnaround"); t != nil {
		data.Turns = barChart(t.Rows, 0, 1, "requests decided", "#3b6ea8")
	}
	data.CaseloadPhases = barChart(byPhase(caseload), 0, 1, "open cases", "#5a8f4e")
	return pageTemplate.Execute(w, data)
}

func scope(f Filter) string {
	var parts []string
	if f.Program != "" {
		parts = append(parts, "program "+f.Program)
	}
	if f.Manager != "" {
		parts = append(parts, "manager "+f.Manager)
	}
	switch {
	case !f.From.IsZero() && !f.To.IsZero():
		parts = append(parts, f.From.Format(time.DateOnly)+" to "+f.To.Format(time.DateOnly))
	case !f.From.IsZero():
		parts = append(parts, "from "+f.From.Format(time.DateOnly))
	case !f.To.IsZero():
		parts = append(parts, "to "+f.To.Format(time.DateOnly))
	}
	if len(parts) == 0 {
		return "all programs, all dates"
	}
	return strings.Join(parts, ", ")
}

// byPhase sums the open cases of every program by phase.
func byPhase(t Table) [][]any {
	var rows [][]any
	idx := map[string]int{}
	for _, r := range t.Rows {
		if len(r) < 4 || r[1] != "phase" {
			continue
		}
		ph := fmt.Sprint(r[2])
		if _, ok := idx[ph]; !ok {
			idx[ph] = len(rows)
			rows = append(rows, []any{ph, 0.0})
		}
		rows[idx[ph]][1] = rows[idx[ph]][1].(float64) + num(r[3])
	}
	return rows
}

func num(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return math.NaN()
}

const (
	chartW, chartH = 640, 240
	padL, padB     = 48, 40
	padT, padR     = 16, 16
)

// barChart draws one bar per row: label column l, value column v.
func barChart(rows [][]any, l, v int, unit, colour string) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="%s">`, chartW, chartH, unit)
	if len(rows) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="none">no data</text></svg>`, chartW/2, chartH/2)
		return template.HTML(b.String())
	}
	top := 0.0
	for _, r := range rows {
		if x := num(r[v]); !math.IsNaN(x) {
			top = math.Max(top, x)
		}
	}
	top = niceTop(top)
	axes(&b, top, "")
	slot := float64(chartW-padL-padR) / float64(len(rows))
	for i, r := range rows {
		x := num(r[v])
		if math.IsNaN(x) {
			x = 0
		}
		h := x / top * float64(chartH-padT-padB)
		bx := float64(padL) + float64(i)*slot + slot*0.15
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %g %s</title></rect>`,
			bx, float64(chartH-padB)-h, slot*0.7, h, colour, template.HTMLEscapeString(fmt.Sprint(r[l])), x, unit)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="val">%g</text>`, bx+slot*0.35, float64(chartH-padB)-h-4, x)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="lab">%s</text>`, bx+slot*0.35, chartH-padB+16, template.HTMLEscapeString(fmt.Sprint(r[l])))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// lineChart draws the weekly rates (columns after the first), 0-100 %.
func lineChart(t Table) template.HTML {
	colours := []string{"#3b6ea8", "#c0392b", "#5a8f4e", "#8e44ad"}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="rates by week">`, chartW, chartH+24)
	if len(t.Rows) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="none">no data</text></svg>`, chartW/2, chartH/2)
		return template.HTML(b.String())
	}
	axes(&b, 100, "%")
	n := len(t.Rows)
	xAt := func(i int) float64 {
		if n == 1 {
			return float64(padL+chartW-padR) / 2
		}
		return float64(padL) + float64(i)*float64(chartW-padL-padR)/float64(n-1)
	}
	yAt := func(v float64) float64 { return float64(chartH-padB) - v/100*float64(chartH-padT-padB) }
	for i, r := range t.Rows {
		if n <= 12 || i%((n+11)/12) == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="lab">%s</text>`, xAt(i), chartH-padB+16, template.HTMLEscapeString(fmt.Sprint(r[0])))
		}
	}
	for c := 1; c < len(t.Columns); c++ {
		colour := colours[(c-1)%len(colours)]
		var pts []string
		for i, r := range t.Rows {
			v := num(r[c])
			if math.IsNaN(v) {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xAt(i), yAt(v)))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s %s: %g%%</title></circle>`,
				xAt(i), yAt(v), colour, t.Columns[c], r[0], v)
		}
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`, strings.Join(pts, " "), colour)
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d" class="leg">%s</text>`,
			padL+(c-1)*190, chartH+8, colour, padL+(c-1)*190+16, chartH+18, t.Columns[c])
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// axes draws the y axis with four grid lines up to top.
func axes(b *strings.Builder, top float64, suffix string) {
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		y := float64(chartH-padB) - float64(i)/4*float64(chartH-padT-padB)
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" class="grid"/><text x="%d" y="%.1f" class="tick">%g%s</text>`,
			padL, y, chartW-padR, y, padL-6, y+4, v, suffix)
	}
}

// niceTop rounds a chart's top up to 1, 2 or 5 times a power of ten.
func niceTop(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"cell": func(v any) string {
		switch x := v.(type) {
		case nil:
			return "–"
		case float64:
			return fmt.Sprintf("%g", x)
		default:
			return fmt.Sprint(x)
		}
	},
	"text":  func(v any) bool { _, ok := v.(string); return ok },
	"total": func(row []any) bool { return len(row) > 0 && row[0] == "all" },
	"label": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>caseflow compliance report</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 2px solid #3b6ea8; padding-bottom: 0.2rem; }
h3 { font-size: 1rem; margin: 1.2rem 0 0.4rem; }
.meta { color: #666; margin-top: 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(360px, 1fr)); gap: 1.5rem; }
figure { margin: 0; border: 1px solid #ddd; border-radius: 6px; padding: 0.8rem; }
figcaption { font-weight: 600; margin-bottom: 0.4rem; }
svg { width: 100%; height: auto; }
svg .grid { stroke: #e4e4e4; }
svg .tick { font-size: 11px; text-anchor: end; fill: #666; }
svg .lab { font-size: 11px; text-anchor: middle; fill: #444; }
svg .val { font-size: 11px; text-anchor: middle; fill: #222; }
svg .leg { font-size: 12px; fill: #333; }
svg .none { font-size: 14px; text-anchor: middle; fill: #999; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.85rem; margin-bottom: 0.5rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: right; white-space: nowrap; }
th { background: #f3f6fa; }
td:first-child, th:first-child, td.t { text-align: left; }
tr.total td { font-weight: 600; background: #fafafa; }
footer { margin-top: 2rem; color: #666; font-size: 0.85rem; }
</style>
</head>
<body>
<h1>caseflow compliance report</h1>
<p class="meta">{{.Scope}} · generated {{.Generated.Format "2006-01-02 15:04 UTC"}} · aggregated figures only: no patient, case id or free text · definitions in docs/reports.md</p>
<section class="charts">
<figure><figcaption>Rates over time by week (%)</figcaption>{{.Weekly}}</figure>
<figure><figcaption>Prior-authorization turnaround (decided requests)</figcaption>{{.Turns}}</figure>
<figure><figcaption>Caseload by phase (open cases)</figcaption>{{.CaseloadPhases}}</figure>
</section>
{{range .Reports}}<h2 id="{{.Name}}">{{.Name}}</h2>
{{range .Tables}}<h3>{{.Title}}</h3>
<div class="scroll"><table>
<tr>{{range .Columns}}<th>{{label .}}</th>{{end}}</tr>
{{range .Rows}}<tr{{if total .}} class="total"{{end}}>{{range .}}<td{{if text .}} class="t"{{end}}>{{cell .}}</td>{{end}}</tr>
{{else}}<tr><td colspan="{{len .Columns}}">none</td></tr>
{{end}}</table></div>
{{end}}{{end}}
<footer>caseflow report html · one self-contained page: nothing is fetched when it is viewed.</footer>
</body>
</html>
`))
