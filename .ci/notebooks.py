"""Run every notebook top to bottom in a real Jupyter kernel (nbclient), as someone in Jupyter or Colab would.

    python .ci/notebooks.py                  # run all of them (on copies); fail if any cell fails
    python .ci/notebooks.py 04_gradcam       # only these
    python .ci/notebooks.py --save           # and write the outputs back into nbs/ (then run nbdev_clean)

Every cell runs, the ones flagged `real_data` included: they read CIFAR-10 from `CIFAR_GRADCAM_DATA`, or download it.
Saved outputs are kept small: no widget views (progress bars and the explorer need a live kernel), no stderr,
pictures with a palette of 128 colours, and nothing from cells marked `#| output: false`. With `CIFAR_GRADCAM_MODEL`
naming a checkpoint, the real-data cells show that model (see `example_model` in 03_train).
"""
import json, os, sys, time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

root = Path(__file__).resolve().parent.parent
nbs = root / 'nbs'
WIDGET = 'application/vnd.jupyter.widget-view+json'

def notebooks(names):
    found = sorted(nbs.glob('*.ipynb'))
    if not names: return found
    chosen = [p for p in found if p.stem in names]
    missing = set(names) - {p.stem for p in chosen}
    if missing: sys.exit(f"no such notebooks: {', '.join(sorted(missing))}; there are {', '.join(p.stem for p in found)}")
    return chosen

def smaller_png(data: str) -> str:
    "A base64 PNG with its colours reduced to a palette of 128, if that makes it smaller."
    import base64, io
    from PIL import Image
    image = Image.open(io.BytesIO(base64.b64decode(data))).convert('RGB')
    buffer = io.BytesIO()
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(buffer, format='png', optimize=True)
    smaller = base64.b64encode(buffer.getvalue()).decode()
    return smaller if len(smaller) < len(data) else data

def keep(cell):
    "The outputs of `cell` worth saving."
    if '#| output: false' in cell.source: return []
    kept = [o for o in cell.get('outputs', [])
            if not (o.output_type == 'stream' and o.name == 'stderr') and WIDGET not in o.get('data', {})]
    for o in kept:
        if 'image/png' in o.get('data', {}): o['data']['image/png'] = smaller_png(o['data']['image/png'])
    return kept

def execute(path: Path, save: bool) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.time()
    NotebookClient(nb, timeout=3600, kernel_name='python3', resources={'metadata': {'path': str(nbs)}}).execute()
    if save:
        for cell in nb.cells:
            if cell.cell_type == 'code': cell.outputs = keep(cell)
        nb.metadata.pop('widgets', None)  # the widgets' state: their views are not kept, so neither is it
        nbformat.write(nb, path)
    return time.time() - start

if __name__ == '__main__':
    args = sys.argv[1:]
    save = '--save' in args
    names = [a for a in args if not a.startswith('--')]
    print(f"CIFAR_GRADCAM_DATA={os.environ.get('CIFAR_GRADCAM_DATA', 'unset: the real-data cells download CIFAR-10')}")
    print(f"CIFAR_GRADCAM_MODEL={os.environ.get('CIFAR_GRADCAM_MODEL', 'unset: the real-data cells use the short run')}")
    failed = []
    for path in notebooks(names):
        try: print(f"{path.name}: ran top to bottom in {execute(path, save):.0f}s", flush=True)
        except CellExecutionError as e:
            failed.append(path.name)
            print(f"{path.name}: FAILED\n{e}", flush=True)
    if failed: sys.exit(f"failed: {', '.join(failed)}")
    if save: print('outputs saved; now run nbdev_clean')
