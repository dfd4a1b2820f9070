"""Check the documentation site's content where Quarto is not installed.

    python .ci/docs.py

It runs what `nbdev_docs` runs before `quarto render` (the Quarto config, the sidebar, and the processing of every
notebook into `_proc/`, which executes the `show_doc` cells), converts the processed notebooks to HTML pages in
`_proc/_html/` with nbconvert, and fails on:

- an error while processing or converting a notebook, or an error saved in its outputs;
- a sidebar that does not list index and the numbered notebooks in order;
- a page without a title, or an exported function or class of its module without its `show_doc` entry, or a
  public method of an exported class (defined in the class, added with `@patch` or assigned, `__call__` included)
  without its own `show_doc(Class.method)` entry on some page (nbdev adds one itself for a public `@patch` function;
  a hidden cell's does not count);
- a documented function, class or method without a docstring of its own (its entry would be empty, or show the
  text it inherits, such as `nn.Module.forward`'s "Define the computation performed at every call");
- a missing figure: a cell that draws one (a call of `plot`, `show`, `show_batch`, `plot_confusion`, `show_mistakes`)
  without a saved picture, unless it is marked `#| output: false`; or an image link to a file that is not there;
- a map of the package in index that is not the package: a module without its row, or a row whose imports are not
  the ones its module makes;
- a broken link between pages: to a page that does not exist, or to a heading that is not on it.
"""
import ast, importlib, json, re, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root))
problems = []

def problem(page, message): problems.append(f"{page}: {message}")

def process():
    "What `nbdev_docs` does before `quarto render`; returns the folder of processed notebooks."
    from nbdev.config import get_config
    from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar
    from nbdev.serve import proc_nbs
    cfg = get_config()
    refresh_quarto_yml()
    nbdev_sidebar.__wrapped__(path=cfg.nbs_path)
    return Path(proc_nbs(cfg.nbs_path, n_workers=0, force=True)), cfg

def slug(heading: str) -> str:
    "The identifier pandoc (and so Quarto) gives a heading."
    text = re.sub(r'<[^>]+>', '', heading).strip().lower()
    text = re.sub(r'[^\w\s.-]', '', text)
    text = re.sub(r'\s+', '-', text)
    return re.sub(r'^[^a-z]+', '', text)

def source(cell): return ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']

SHOWN = re.compile(r'^\s*show_doc\(\s*(\w+\.\w+)', re.M)  # the `Class.method` of a `show_doc` call
DRAWS = re.compile(r'(?:\.plot|\.show|\bshow_batch|\bplot_confusion|\bshow_mistakes)\(')

def check_page(path: Path, pages: dict, module_names: dict):
    nb = json.loads(path.read_text())
    cells, page = nb['cells'], path.name
    front = source(cells[0]) if cells and cells[0]['cell_type'] == 'raw' else ''
    if not re.search(r'^title:', front, re.M): problem(page, "no title (the first markdown cell's `# heading`)")
    documented, figures = set(), 0
    for i, cell in enumerate(cells):
        text = source(cell)
        if cell['cell_type'] == 'markdown':
            for target in re.findall(r'!\[[^\]]*\]\(([^)\s]+)', text):
                if not re.match(r'\w+://', target) and not (root / 'nbs' / target).exists():
                    problem(page, f"image {target} does not exist")
            for target in re.findall(r'(?<!!)\[[^\]]*\]\(([^)\s]+)', text):
                if re.match(r'\w+://|mailto:', target): continue
                name, _, anchor = target.partition('#')
                name = name or page
                stem = Path(name).stem if Path(name).suffix in ('.ipynb', '.html', '.qmd', '') else None
                if stem is None: continue
                if stem + '.ipynb' not in pages: problem(page, f"link to {target}: no page {name}")
                elif anchor and anchor not in pages[stem + '.ipynb']:
                    problem(page, f"link to {target}: no heading #{anchor} on {stem}")
            continue
        if cell['cell_type'] != 'code': continue
        outputs = cell.get('outputs', [])
        for o in outputs:
            if o.get('output_type') == 'error': problem(page, f"cell {i} saved an error: {o.get('ename')}: {o.get('evalue')}")
            markdown = ''.join(o.get('data', {}).get('text/markdown', ''))
            documented.update(re.findall(r'^#{2,4} (\S+)', markdown, re.M))
        pictures = sum('image/png' in o.get('data', {}) or 'image/svg+xml' in o.get('data', {}) for o in outputs)
        figures += pictures
        if DRAWS.search(text) and '#| output: false' not in text and 'plt.close' not in text and not pictures:
            problem(page, f"cell {i} draws a figure but has no saved picture: run the notebook and save it "
                          f"(python .ci/notebooks.py --save)\n    {text.strip().splitlines()[-1]}")
    names = module_names.get(page, [])
    missing = sorted(n for n in names if n not in documented)
    if missing: problem(page, f"no show_doc entry for {', '.join(missing)}")
    return nb, figures

def headings(path: Path) -> set:
    nb = json.loads(path.read_text())
    found = set()
    for cell in nb['cells']:
        text = source(cell)
        if cell['cell_type'] == 'markdown': found |= {slug(h) for h in re.findall(r'^#+ (.+)$', text, re.M)}
        for o in cell.get('outputs', []):
            found |= {slug(h) for h in re.findall(r'^#+ (.+)$', ''.join(o.get('data', {}).get('text/markdown', '')), re.M)}
    return found

DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)

def decorators(f) -> dict:
    "The decorators of function `f` by name (`x.setter` as `setter`): the call, with its arguments, or None."
    found = {}
    for d in f.decorator_list:
        call = d if isinstance(d, ast.Call) else None
        func = call.func if call else d
        found[getattr(func, 'id', None) or getattr(func, 'attr', None)] = call
    return found

def methods_added(node, functions: set) -> list:
    "`(class, method)` pairs that a top-level statement adds: `@patch`, `@patch_to(Class)`, `Class.name = function`."
    if isinstance(node, ast.Assign):
        function = isinstance(node.value, ast.Lambda) or getattr(node.value, 'id', None) in functions
        return [(t.value.id, t.attr) for t in node.targets
                if function and isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)]
    if not isinstance(node, DEFS): return []
    found = []
    for name, call in decorators(node).items():
        if name not in ('patch', 'patch_to'): continue
        kw = {k.arg: getattr(k.value, 'value', None) for k in call.keywords} if call else {}
        if kw.get('as_prop') or kw.get('set_prop'): continue  # a property
        target = call.args[0] if name == 'patch_to' else node.args.args[0].annotation if node.args.args else None
        owners = [c.id for c in ast.walk(target) if isinstance(c, ast.Name)] if target else []  # `self: A | B`: both
        found += [(c, kw.get('nm') or node.name) for c in owners]
    return found

def public_methods(nbs: Path, exported: set) -> dict:
    """Per notebook, `Class.method` for each public method (and `__call__`) of an exported class that its export cells
    define in the class body or add (see `methods_added`); properties are attributes, not methods."""
    code = lambda p: '\n\n'.join(source(c) for c in json.loads(p.read_text())['cells']
                                   if c['cell_type'] == 'code' and re.search(r'^#\|\s*export', source(c), re.M))
    trees = {p.name: ast.parse(code(p)).body for p in sorted(nbs.glob('*.ipynb'))}
    nodes = [n for body in trees.values() for n in body]
    classes = {n.name for n in nodes if isinstance(n, ast.ClassDef) and n.name in exported}
    functions = {n.name for n in nodes if isinstance(n, DEFS)}
    methods = {}
    for page, body in trees.items():
        for node in body:
            if isinstance(node, ast.ClassDef):
                found = [(node.name, f.name) for f in node.body if isinstance(f, DEFS)
                         and not {'property', 'cached_property', 'setter', 'getter', 'deleter'} & set(decorators(f))]
            else: found = methods_added(node, functions)
            methods.setdefault(page, []).extend(f'{c}.{m}' for c, m in found
                                                if c in classes and (not m.startswith('_') or m == '__call__'))
    return methods

def notebook_modules(nbs: Path) -> dict:
    "Per notebook that exports one, its module."
    modules = {}
    for nb_path in nbs.glob('*.ipynb'):
        m = re.search(r'#\|\s*default_exp\s+([\w.]+)', nb_path.read_text())
        if m: modules[nb_path.name] = importlib.import_module(f'cifar_gradcam.{m.group(1)}')
    return modules

def exported_names(nbs: Path) -> dict:
    "Per notebook, the names its module exports."
    # functions and classes get a show_doc entry; constants are described in the prose
    return {page: [n for n in module.__all__ if callable(getattr(module, n)) and not n.isupper()]
            for page, module in notebook_modules(nbs).items()}

def without_docstring(nbs: Path, methods: dict) -> list:
    "The exported functions and classes, and the public methods, that have no docstring of their own."
    found, objects = [], {}
    for page, names in exported_names(nbs).items():
        module = notebook_modules(nbs)[page]
        for name in names:
            obj = objects[name] = getattr(module, name)
            if not (obj.__dict__.get('__doc__') if isinstance(obj, type) else obj.__doc__): found.append(name)
    for method in (m for page_methods in methods.values() for m in page_methods):
        owner, name = method.split('.')
        if not getattr(objects[owner], name).__doc__: found.append(method)  # a function's own: not inherited
    return found

MAP_HEADER = '| module | what it does | imports from the package |'

def package_map(nbs: Path) -> dict:
    "Index's map of the package: each module's name and the modules its row says it imports."
    cells = [source(c) for c in json.loads((nbs / 'index.ipynb').read_text())['cells'] if c['cell_type'] == 'markdown']
    table = next((c for c in cells if MAP_HEADER in c), '')
    rows = [line.split('|')[1:-1] for line in table.split(MAP_HEADER, 1)[-1].splitlines() if line.startswith('| `')]
    return {re.findall(r'`(\w+)`', name)[0]: set(re.findall(r'`(\w+)`', imports)) for name, _, imports in rows}

def package_imports() -> dict:
    "Each module of the package and the modules of the package it imports (`from .x import ...`, anywhere in it)."
    files = [p for p in (root / 'cifar_gradcam').glob('*.py') if not p.name.startswith('_')]
    relative = lambda tree: {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1}
    return {p.stem: relative(ast.parse(p.read_text())) for p in files}

def main():
    try: proc, cfg = process()
    except Exception as e: sys.exit(f"processing the notebooks failed (what nbdev_docs would do before Quarto):\n{e}")
    notebooks = sorted(p.name for p in cfg.nbs_path.glob('*.ipynb'))
    expected = ['index.ipynb'] + [n for n in notebooks if n != 'index.ipynb']
    sidebar = re.findall(r'^\s*-\s*(\S+\.ipynb)', (cfg.nbs_path / 'sidebar.yml').read_text(), re.M)
    if sidebar != expected: problem('sidebar.yml', f"lists {sidebar}, not {expected}")
    pages = {p.name: headings(p) for p in sorted(proc.glob('*.ipynb'))}
    if sorted(pages) != sorted(notebooks): problem('_proc', f"processed {sorted(pages)}, expected {notebooks}")
    from nbconvert import HTMLExporter
    import nbformat
    exporter, html_dir = HTMLExporter(template_name='lab'), proc / '_html'
    html_dir.mkdir(exist_ok=True)
    module_names = exported_names(cfg.nbs_path)
    total, shown = 0, set()
    for name in pages:
        nb, figures = check_page(proc / name, pages, module_names)
        total += figures
        shown |= {m for c in nb['cells'] if c['cell_type'] == 'code' for m in SHOWN.findall(source(c))}
        try: body, _ = exporter.from_notebook_node(nbformat.reads(json.dumps(nb), as_version=4))
        except Exception as e:
            problem(name, f"HTML conversion failed: {e}")
            continue
        if body.count('<img') < figures: problem(name, f"{figures} figures saved but {body.count('<img')} in the HTML")
        (html_dir / name.replace('.ipynb', '.html')).write_text(body)
    exported = {n for names in module_names.values() for n in names}
    methods = public_methods(cfg.nbs_path, exported)
    bare = without_docstring(cfg.nbs_path, methods)
    if bare: problem('modules', f"no docstring of their own: {', '.join(bare)}")
    for page, methods in methods.items():
        missing = [m for m in methods if m not in shown]
        if missing: problem(page, f"no show_doc(Class.method) entry for the methods {', '.join(missing)}")
    said, made = package_map(cfg.nbs_path), package_imports()
    if not said: problem('index.ipynb', f"no map of the package (a table headed {MAP_HEADER})")
    for module in sorted(said.keys() | made.keys()):
        if module not in said: problem('index.ipynb', f"the map of the package has no row for `{module}`")
        elif module not in made:
            problem('index.ipynb', f"the map of the package has a row for `{module}`, which is not a module")
        elif said[module] != made[module]:
            problem('index.ipynb', f"the map says `{module}` imports {sorted(said[module]) or 'nothing'}; it imports "
                                   f"{sorted(made[module]) or 'nothing'}")
    if problems:
        print('\n'.join(problems))
        sys.exit(f"docs check: {len(problems)} problems")
    print(f"docs check: {len(pages)} pages in sidebar order, {total} figures, every exported name and public method "
          f"documented with a docstring of its own, every link between pages resolves; HTML in {html_dir}")

if __name__ == '__main__': main()
