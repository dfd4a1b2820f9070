"""The explorer of mistakes as a person uses it: JupyterLab in Chromium, driven through its controls.

A JupyterLab server starts on a free port of localhost with a temporary folder holding one small notebook: the
shapes data and an untrained ResNet18 (its mistakes are most of the images), and a `CAMExplorer` of them. The page
runs it, and the checks move the slider, press the buttons and change the layer, the method, the class and the
map opacity through the page's own controls, each time waiting (bounded) until the picture's pixels change, and
printing how long that took. At 900 pixels nothing may be cut off. The server and its kernel are stopped at the
end, whatever happens.

    python .ci/browser/test_explorer.py                                 # the checks
    python .ci/browser/test_explorer.py --docs-image nbs/images/explorer.png   # and save the docs' picture
"""
import json, os, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, Checks, browser, screenshot

NOTEBOOK_CELLS = [
    "import torch\n"
    "from cifar_gradcam.data import make_shapes\n"
    "from cifar_gradcam.model import ResNet18\n"
    "from cifar_gradcam.train import predict\n"
    "from cifar_gradcam.explorer import CAMExplorer",
    "shapes = make_shapes(n_train=8, n_test=48, seed=0)\n"
    "torch.manual_seed(0)\n"
    "model = ResNet18(num_classes=4).eval()\n"
    "preds = predict(model, shapes.test, shapes.mean, shapes.std)\n"
    "explorer = CAMExplorer(model, shapes.test, preds, shapes.mean, shapes.std)\n"
    "explorer",
]

# The pixels of the `i`-th picture of the explorer (0: the image, 1: the first map), read through a canvas.
PIXELS = """window.camPixels = (i) => {
    const img = document.querySelectorAll('.cam-explorer .cam-panel img')[i];
    if (!img || !img.complete || !img.naturalWidth) return null;
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    canvas.getContext('2d').drawImage(img, 0, 0);
    return canvas.toDataURL();
}"""
CHANGED = "([i, before]) => { const now = window.camPixels(i); return now !== null && now !== before; }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def write_notebook(folder: Path) -> Path:
    cells = [dict(cell_type='code', execution_count=None, id=f'cell{i}', metadata={}, outputs=[], source=s)
             for i, s in enumerate(NOTEBOOK_CELLS)]
    notebook = dict(cells=cells, nbformat=4, nbformat_minor=5, metadata=dict(
        kernelspec=dict(name='python3', display_name='Python 3 (ipykernel)', language='python')))
    path = folder / 'explorer.ipynb'
    path.write_text(json.dumps(notebook))
    return path


def start_lab(folder: Path, port: int) -> subprocess.Popen:
    "JupyterLab on localhost without a token, its settings and workspaces in `folder`, so that no state leaks in."
    settings = folder / 'settings' / '@jupyterlab' / 'apputils-extension'
    settings.mkdir(parents=True)
    (settings / 'notification.jupyterlab-settings').write_text('{"fetchNews": "false", "checkForUpdates": false}')
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(folder / 'settings'),
               JUPYTERLAB_WORKSPACES_DIR=str(folder / 'workspaces'), JUPYTER_RUNTIME_DIR=str(folder / 'runtime'))
    command = [sys.executable, '-m', 'jupyterlab', '--no-browser', f'--port={port}', '--ip=127.0.0.1',
               "--IdentityProvider.token=", "--ServerApp.password=", f'--ServerApp.root_dir={folder / "notebooks"}']
    if os.geteuid() == 0: command.append('--allow-root')  # CI containers run as root
    log = open(folder / 'lab.log', 'w')
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_for_lab(server: subprocess.Popen, port: int, timeout: float = 60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.poll() is not None: raise RuntimeError(f"JupyterLab exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f'http://127.0.0.1:{port}/api/status', timeout=2): return
        except OSError: time.sleep(0.5)
    raise TimeoutError(f"JupyterLab did not answer on port {port} within {timeout:.0f}s")


def stop_lab(server: subprocess.Popen):
    "Stop the server, then any kernel it started that outlived it (each by its process id)."
    import psutil
    try: children = psutil.Process(server.pid).children(recursive=True)
    except psutil.NoSuchProcess: children = []
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)  # the server shuts its kernels down on SIGTERM
        try: server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
    for child in children:
        try: child.wait(timeout=5)
        except psutil.TimeoutExpired: child.kill()
        except psutil.NoSuchProcess: pass


def accept_kernel_dialog(page, wait_ms: int = 3000):
    "JupyterLab may ask which kernel to start: the notebook's own (Python 3), the one it offers."
    accept = page.locator('.jp-Dialog .jp-mod-accept')
    try: accept.first.wait_for(state='visible', timeout=wait_ms)
    except Exception: return
    accept.first.click(timeout=10_000)


def run_all_cells(page):
    accept_kernel_dialog(page)
    page.locator('.lm-MenuBar-itemLabel', has_text='Run').first.click(timeout=10_000)
    page.locator('.lm-Menu-itemLabel', has_text='Run All Cells').first.click(timeout=10_000)
    accept_kernel_dialog(page)


def explore(page, check: Checks, docs_image: Path | None):
    page.wait_for_selector('.cam-explorer .cam-panel img', state='visible', timeout=150_000)
    page.evaluate(PIXELS)
    page.wait_for_function('() => window.camPixels(1) !== null', timeout=30_000)
    caption = page.locator('.cam-explorer .cam-caption')
    first = caption.inner_text(timeout=10_000)
    count = first.split(' of ')[1].split()[0]
    check('the explorer renders', 'mistake 1 of' in first and page.locator('.cam-panel img:visible').count() == 2,
          first)
    labels = page.locator('.cam-explorer .cam-panel:visible').all_inner_texts()
    check('the pictures are labelled', labels[:1] == ['image'] and 'gradcam at layer3 for' in labels[1], str(labels))
    check('the colour scale is shown', page.get_by_text('map value, scaled to its maximum').is_visible())
    check('the true class is marked', '✓ true' in page.locator('.cam-probabilities').inner_text())
    shot = screenshot(page, 'explorer-opened')
    if docs_image: save_docs_image(page, docs_image)
    print(f"screenshot: {shot}")

    times = {}
    def changes(name: str, action, picture: int = 1):
        "Do `action` through the page and wait until picture `picture` changes; report how long it took."
        before = page.evaluate('(i) => window.camPixels(i)', picture)
        start = time.perf_counter()
        action()
        try:
            page.wait_for_function(CHANGED, arg=[picture, before], timeout=30_000, polling=20)
            times[name] = time.perf_counter() - start
            check(f'{name} changes the picture', True, f'updated in {1000 * times[name]:.0f} ms')
        except Exception as e:
            check(f'{name} changes the picture', False, f'{type(e).__name__}: no change within 30 s')

    changes('the next button', lambda: page.locator('.cam-next button, button.cam-next').first.click(timeout=10_000),
            picture=0)
    check('the position reads 2 of N', f'mistake 2 of {count}' in caption.inner_text(), caption.inner_text())

    def slide(selector, fraction):
        track = page.locator(f'{selector} .noUi-target, {selector} .slider').first.bounding_box(timeout=10_000)
        page.mouse.click(track['x'] + fraction * track['width'], track['y'] + track['height'] / 2)
    changes('moving the slider', lambda: slide('.cam-slider', 0.5), picture=0)
    moved = caption.inner_text()
    check('the slider moves the position', f'mistake 2 of {count}' not in moved and 'mistake 1 of' not in moved, moved)
    changes('the layer', lambda: page.locator('.cam-layer select').select_option(label='layer1', timeout=10_000))
    changes('the method', lambda: page.locator('.cam-method select').select_option(label='gradcam++', timeout=10_000))
    changes('the class', lambda: page.locator('.cam-target select').select_option(label='true', timeout=10_000))
    changes('the map opacity', lambda: slide('.cam-opacity', 0.95))
    changes('Guided Backprop', lambda: page.locator('.cam-view select').select_option(label='guided backprop',
                                                                                     timeout=10_000))
    off = [page.locator(f'.cam-{name} select').is_disabled(timeout=10_000) for name in ('layer', 'method')]
    check('with Guided Backprop, "layer" and "method" are disabled', all(off), str(off))
    changes('side by side', lambda: page.locator('.cam-view select').select_option(
        label='side by side: predicted, true, contrastive', timeout=10_000))
    page.wait_for_timeout(300)
    check('side by side shows the image and three maps', page.locator('.cam-panel img:visible').count() == 4)
    screenshot(page, 'explorer-side-by-side')
    changes('back to one map', lambda: page.locator('.cam-view select').select_option(label='map for the class',
                                                                                     timeout=10_000))
    changes('Eigen-CAM', lambda: page.locator('.cam-method select').select_option(label='eigencam', timeout=10_000))
    disabled = page.locator('.cam-target select').is_disabled(timeout=10_000)
    note = page.locator('.cam-note').inner_text(timeout=10_000)
    check('with Eigen-CAM, "map for" is disabled with its reason', disabled and 'the same for every class' in note, note)
    screenshot(page, 'explorer-eigencam')

    page.set_viewport_size({'width': 900, 'height': 1000})
    page.wait_for_timeout(1000)
    widget = page.locator('.cam-explorer').bounding_box(timeout=10_000)
    area = page.locator('.jp-OutputArea-output:has(.cam-explorer)').first.bounding_box(timeout=10_000)
    parts = page.locator('.cam-explorer .widget-inline-hbox:visible, .cam-explorer .cam-panel:visible, '
                         '.cam-explorer button:visible').evaluate_all(
        'els => els.map(e => { const r = e.getBoundingClientRect(); return [r.left, r.right]; })')
    right = min(widget['x'] + widget['width'], area['x'] + area['width'])
    cut = [p for p in parts if p[1] > right + 1]
    check('at 900 px nothing is cut off', not cut and widget['width'] <= area['width'] + 1,
          f"{len(cut)} of {len(parts)} parts past the right edge ({right:.0f} px)")
    slider = page.locator('.cam-slider .noUi-target, .cam-slider .slider').first.bounding_box(timeout=10_000)
    check('at 900 px the slider keeps its width', slider['width'] >= 100, f"{slider['width']:.0f} px")
    screenshot(page, 'explorer-900px')
    if times:
        print('update times: ' + ', '.join(f'{name} {1000 * t:.0f} ms' for name, t in times.items()))


def save_docs_image(page, path: Path):
    "The explorer as it opens, cropped to the widget, with a palette of 256 colours to keep it small."
    from PIL import Image
    raw = path.with_suffix('.raw.png')
    page.locator('.cam-explorer').screenshot(path=str(raw), timeout=10_000)
    Image.open(raw).convert('RGB').quantize(colors=256).save(path, optimize=True)
    raw.unlink()
    print(f"docs image: {path} ({path.stat().st_size // 1024} KB)")


def main():
    docs_image = None
    if '--docs-image' in sys.argv: docs_image = (Path.cwd() / sys.argv[sys.argv.index('--docs-image') + 1]).resolve()
    check = Checks()
    folder = Path(tempfile.mkdtemp(prefix='explorer-'))
    (folder / 'notebooks').mkdir()
    write_notebook(folder / 'notebooks')
    port, server = free_port(), None
    start = time.time()
    try:
        server = start_lab(folder, port)
        wait_for_lab(server, port)
        with browser() as b:
            page = b.new_page(viewport={'width': 1280, 'height': 1000})
            page.set_default_timeout(30_000)
            page.goto(f'http://127.0.0.1:{port}/lab/tree/explorer.ipynb', timeout=60_000)
            page.wait_for_selector('.jp-Notebook .jp-Cell', timeout=60_000)
            page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=90_000)
            run_all_cells(page)
            try: explore(page, check, docs_image)
            except Exception as e:
                check('the explorer could be driven', False, f'{type(e).__name__}: {e}')
                screenshot(page, 'explorer-failure')
    except Exception as e: check('JupyterLab ran the notebook', False, f'{type(e).__name__}: {e}')
    finally:
        if server is not None: stop_lab(server)
        if check.failed and (folder / 'lab.log').exists():
            print('--- end of the JupyterLab log ---\n' + ''.join((folder / 'lab.log').read_text().splitlines(True)[-30:]))
        shutil.rmtree(folder, ignore_errors=True)
    print(f'explorer browser test: {time.time() - start:.0f}s')
    check.done()


if __name__ == '__main__': main()
