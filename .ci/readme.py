"""Render README.md from nbs/index.ipynb without Quarto (`nbdev_readme` does the same where Quarto is installed).

    python .ci/readme.py          # write README.md
    python .ci/readme.py --check  # fail if README.md is not what index.ipynb gives
"""
import json, re, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent

def directives(source):
    return {m.group(1) for m in re.finditer(r'^#\|\s*([\w-]+)', source, re.M)}

def strip_directives(source):
    return '\n'.join(l for l in source.splitlines() if not l.startswith('#|')).strip('\n')

def output_text(outputs):
    parts = []
    for o in outputs:
        if o.get('output_type') == 'stream': parts.append(''.join(o['text']))
        elif 'text/plain' in o.get('data', {}) and not any(k.startswith('image/') for k in o['data']):
            parts.append(''.join(o['data']['text/plain']))
    return '\n'.join(p.rstrip('\n') for p in parts)

def render(nb_path=root / 'nbs' / 'index.ipynb'):
    nb = json.loads(nb_path.read_text())
    blocks = []
    for cell in nb['cells']:
        source = ''.join(cell['source'])
        if cell['cell_type'] == 'markdown':
            # images and pages are linked relative to nbs/ in the notebook, and to the top of the repository here
            text = re.sub(r'(!\[[^\]]*\]\()(?!\w+://|/)', r'\1nbs/', source.strip('\n'))
            blocks.append(re.sub(r'(\]\()(?!\w+://|/)([\w.-]+\.ipynb)', r'\1nbs/\2', text))
            continue
        if {'hide', 'export', 'exporti', 'exports'} & directives(source) or 'hide' in source.split('\n', 1)[0]:
            continue
        code = strip_directives(source)
        if code: blocks.append(f'```python\n{code}\n```')
        out = output_text(cell.get('outputs', []))
        if out: blocks.append(f'```\n{out}\n```')
    return '\n\n'.join(blocks) + '\n'

if __name__ == '__main__':
    readme, text = root / 'README.md', render()
    if '--check' in sys.argv:
        if not readme.exists() or readme.read_text() != text:
            sys.exit('README.md is not in step with nbs/index.ipynb: run `python .ci/readme.py` and commit README.md')
        print('README.md is in step with nbs/index.ipynb')
    else:
        readme.write_text(text)
        print(f'wrote {readme}')
