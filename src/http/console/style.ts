/** The console's one stylesheet, served at `/admin/console.css` (no CDN, no inline styles: the CSP allows `style-src 'self'` only). */
export const CONSOLE_CSS = `
:root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #ffffff; --soft: #f6f8fa; --red: #b42318; --amber: #8a5a00; --green: #1a7f37; --link: #0b57d0; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--link); }
a:focus, button:focus, input:focus, select:focus, textarea:focus { outline: 3px solid #ffbf47; outline-offset: 1px; }
header.top { display: flex; flex-wrap: wrap; align-items: center; gap: 1rem; padding: .6rem 1.2rem; background: #24292f; color: #fff; }
header.top a { color: #fff; text-decoration: none; padding: .2rem .4rem; border-radius: 4px; }
header.top a[aria-current="page"] { background: #57606a; }
header.top .brand { font-weight: 700; margin-right: 1rem; }
header.top form { margin-left: auto; }
header.top .who { color: #d0d7de; font-size: .9em; }
main { padding: 1rem 1.2rem 3rem; max-width: 1400px; }
h1 { font-size: 1.5rem; margin: .4rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.6rem 0 .6rem; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
th, td { border-bottom: 1px solid var(--line); padding: .35rem .5rem; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); }
.band-overdue, .bad { color: var(--red); font-weight: 600; }
.band-due_soon, .warn { color: var(--amber); font-weight: 600; }
.band-on_track, .good { color: var(--green); }
.cards { display: flex; flex-wrap: wrap; gap: .8rem; margin: 0 0 1rem; padding: 0; list-style: none; }
.cards li { border: 1px solid var(--line); border-radius: 6px; padding: .6rem .9rem; min-width: 9rem; background: var(--soft); }
.cards .n { display: block; font-size: 1.6rem; font-weight: 700; font-variant-numeric: tabular-nums; }
form.filters { display: flex; flex-wrap: wrap; gap: .8rem; align-items: flex-end; margin-bottom: .8rem; }
form.filters div, form.stack div { display: flex; flex-direction: column; gap: .2rem; }
form.stack { display: flex; flex-direction: column; gap: .7rem; max-width: 34rem; }
label { font-weight: 600; font-size: .92em; }
input, select, textarea, button { font: inherit; padding: .35rem .5rem; border: 1px solid #8c959f; border-radius: 4px; }
button { background: #1f6feb; color: #fff; border-color: #1f6feb; cursor: pointer; }
button.secondary { background: #fff; color: var(--fg); border-color: #8c959f; }
button.danger { background: var(--red); border-color: var(--red); }
.notice { padding: .6rem .9rem; border-radius: 6px; margin: 0 0 1rem; border: 1px solid var(--line); background: var(--soft); }
.notice.error { border-color: var(--red); color: var(--red); }
.notice.ok { border-color: var(--green); color: var(--green); }
.countdown { font-size: 1.4rem; font-weight: 700; }
nav.pager { display: flex; gap: 1rem; margin: .5rem 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
.actions { display: flex; flex-wrap: wrap; gap: 2rem; }
.actions section { border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; }
`;
