"""The report page in Chromium: it loads from disk with no errors, every control changes what it shows, its canvases
hold exactly `overlay`'s pixels, and it fits a phone's width.

The report is built here, in a temporary folder, from the synthetic shapes and an untrained ResNet18 (whose maps
are as good as any for checking pixels), with one class named like an attack on the page.
"""
import sys, tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import Checks, browser, screenshot

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import torch

from cifar_gradcam.data import ImageSplit, make_shapes
from cifar_gradcam.model import ResNet18
from cifar_gradcam.train import Predictions, plot_confusion
from cifar_gradcam.atlas import MistakeAtlas, mistake_atlas
from cifar_gradcam.report_data import overlay_uint8, unpack
from cifar_gradcam.report import read_report_data, write_report

EVIL = '<img src=x onerror=alert(1)>'
COMBOS = (('layer3', 'gradcam'), ('layer4', 'gradcam'), ('layer3', 'xgradcam'))


def build(folder: Path):
    "A report of an untrained model on 64 shapes, at three layer and method combinations."
    shapes = make_shapes(n_train=8, n_test=64, seed=0)
    test = ImageSplit(shapes.test.images, shapes.test.labels, [EVIL, 'square', 'triangle', 'cross'], shapes.test.boxes)
    torch.manual_seed(0)
    model = ResNet18(num_classes=4).eval()
    atlases = [mistake_atlas(model, test, shapes.mean, shapes.std, layer, method, min_count=2, faithfulness_images=4,
                             steps=2, progress=False) for layer, method in COMBOS]
    fig = plot_confusion(atlases[0].predictions)
    fig.savefig(folder / 'confusion.png', dpi=50); plt.close(fig)
    metrics = dict(data='shapes', settings=dict(model='untrained ResNet18'),
                   history=[dict(epoch=1, train_loss=1.2, train_acc=0.4, test_loss=1.3, test_acc=0.35, lr=1e-3,
                                 seconds=2.0)])
    return write_report(folder, metrics, {'confusion': folder / 'confusion.png'}, test, atlases), test, atlases


def build_flawless(folder: Path, test, atlas):
    "The report of a model that gets every image right."
    perfect = Predictions(torch.nn.functional.one_hot(test.labels, 4).float(), test.labels, test.classes)
    none, no_maps = torch.zeros(0, dtype=torch.long), torch.zeros(0, *test.images.shape[-2:], dtype=torch.uint8)
    flawless = MistakeAtlas(test.classes, atlas.layer, atlas.method, perfect, none, atlas.maps_predicted, no_maps,
                            no_maps, [], atlas.statistics, atlas.faithfulness, none)
    return write_report(folder, {}, {}, test, [flawless])


PIXELS = """id => { const c = document.getElementById(id);
  return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }"""


def expected(test, atlas, data, pos, kind, alpha):
    "overlay's 8-bit pixels (RGBA, as a canvas holds them) for mistake `pos` of the page, map `kind`."
    i = data['mistakes'][pos]['index']
    image = test.images[i:i + 1]
    if kind == 'image': rgb = image
    else:
        row = atlas.mistakes.tolist().index(i)
        m = {'predicted': atlas.maps_predicted[i], 'true': atlas.maps_true[row],
             'contrastive': atlas.maps_contrastive[row]}[kind]
        rgb = overlay_uint8(image, m[None], alpha)
    rgba = torch.cat([rgb[0], torch.full((1, *rgb.shape[-2:]), 255, dtype=torch.uint8)]).permute(1, 2, 0)
    return rgba.flatten().tolist()


def main():
    check = Checks()
    folder = Path(tempfile.mkdtemp())
    path, test, atlases = build(folder)
    flawless = build_flawless(folder / 'flawless', test, atlases[0])
    data = read_report_data(path)
    n = len(data['mistakes'])
    print(f"report of {n} mistakes, {path.stat().st_size / 1e3:.0f} kB: {path}")
    check('the report has enough mistakes to test on', n >= 20, f'{n}')
    url = path.as_uri()
    with browser() as b:
        page = b.new_page(viewport={'width': 1280, 'height': 900})
        errors, dialogs = [], []
        page.on('console', lambda m: errors.append(m.text) if m.type == 'error' else None)
        page.on('pageerror', lambda e: errors.append(str(e)))
        page.on('dialog', lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on('request', lambda r: errors.append(f'request {r.url}') if not r.url.startswith(('file:', 'data:'))
                else None)
        page.goto(url)
        page.wait_for_selector('body[data-ready="yes"]', timeout=30000)
        check('no console errors, page errors or requests', not errors, '; '.join(errors))
        check('no dialog opened (the class name is not run as HTML)', not dialogs, '; '.join(dialogs))
        check('the hostile class name is shown as text', page.evaluate(f"document.body.innerText.includes({EVIL!r})")
              and page.locator('img[src="x"]').count() == 0)
        images = page.evaluate("Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)")
        check('every image loaded', images and all(images), f'{len(images)} images')
        drawn = page.evaluate("Array.from(document.querySelectorAll('canvas[data-show]')).map(c => c.width > 0 && "
                              "c.getContext('2d').getImageData(0, 0, c.width, c.height).data[3] === 255)")
        check('every map canvas is drawn', drawn and all(drawn), f'{len(drawn)} canvases')
        position = lambda: page.inner_text('#position')
        pixels = lambda id='view-predicted': page.evaluate(PIXELS, id)
        check('the viewer opens on the first mistake', position() == f'1 of {n}', position())

        def exact(label, atlas_index, alpha):
            pos = int(position().split()[0]) - 1
            ok = all(pixels(f'view-{kind}') == expected(test, atlases[atlas_index], data, pos, kind, alpha)
                     for kind in ('image', 'predicted', 'true', 'contrastive'))
            check(f"canvas pixels equal overlay's exactly: {label}", ok, f'mistake {pos + 1}')

        exact('first mistake, layer3 gradcam, opacity 0.5', 0, 0.5)
        before = pixels()
        page.click('#next')
        check('next: the next mistake is shown', position() == f'2 of {n}' and pixels() != before, position())
        check('next: the address links to it', page.evaluate('location.hash') == '#mistake-2')
        page.click('#prev')
        check('previous: back to the first, same pixels', position() == f'1 of {n}' and pixels() == before)
        page.keyboard.press('ArrowRight')  # the focus is on the button just clicked: the arrows still move
        check('arrow right: the next mistake', position() == f'2 of {n}' and pixels() != before, position())
        page.keyboard.press('ArrowLeft')
        check('arrow left: the previous mistake', position() == f'1 of {n}' and pixels() == before, position())

        page.select_option('#layer', 'layer4')
        check('layer switch: other maps', page.input_value('#layer') == 'layer4' and pixels() != before)
        exact('layer4 gradcam', 1, 0.5)
        check('layer4 has only gradcam: xgradcam is disabled there',
              page.evaluate("document.querySelector('#method option[value=xgradcam]').disabled"))
        page.select_option('#layer', 'layer3')
        page.select_option('#method', 'xgradcam')
        check('method switch: other maps', page.input_value('#method') == 'xgradcam' and pixels() != before)
        exact('layer3 xgradcam', 2, 0.5)
        mean_map = page.evaluate("""() => { const c = document.querySelector('canvas[data-pair="0"][data-show="true"]');
            return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }""")
        page.select_option('#method', 'gradcam')
        mean_after = page.evaluate("""() => { const c = document.querySelector('canvas[data-pair="0"][data-show="true"]');
            return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }""")
        check('method switch: the atlas maps change too', mean_map != mean_after)

        before = pixels()
        page.evaluate("() => { const s = document.getElementById('opacity'); s.value = '0.8'; "
                      "s.dispatchEvent(new Event('input')); }")
        alpha = float(page.input_value('#opacity'))
        check('opacity slider: the maps change', alpha == 0.8 and pixels() != before, page.inner_text('#opacity-value'))
        exact('opacity 0.8', 0, alpha)

        every = page.evaluate("""alpha => { const image = new Uint8Array(3 * 65536), map = new Uint8Array(65536);
            for (let i = 0; i < 256; i++) for (let j = 0; j < 256; j++) {
              map[i * 256 + j] = j; for (let c = 0; c < 3; c++) image[c * 65536 + i * 256 + j] = i; }
            return Array.from(window.reportPage.blendPixels(image, map, alpha, 65536)); }""", 0.35)
        levels = torch.arange(256)
        grid_image = levels[:, None].expand(256, 256).to(torch.uint8).expand(1, 3, 256, 256)
        grid_map = levels[None, :].expand(256, 256).to(torch.uint8)[None]
        reference = overlay_uint8(grid_image, grid_map, 0.35)[0]
        got = torch.tensor(every, dtype=torch.uint8).view(256, 256, 4).permute(2, 0, 1)[:3]
        check("the page's blend equals overlay for every image level and map level (opacity 0.35)",
              torch.equal(got, reference), f'{(got != reference).sum().item()} values differ')

        def canvas(selector):
            return page.evaluate("""s => { const c = document.querySelector(s);
                return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }""", selector)
        rgba = lambda rgb: torch.cat([rgb, torch.full((1, *rgb.shape[-2:]), 255, dtype=torch.uint8)]).permute(1, 2, 0)
        h, w = data['size']
        pair_maps = unpack(data['atlases'][0]['pair_maps'], (len(data['pairs']), 3, h, w))
        heat = overlay_uint8(torch.zeros(1, 3, h, w, dtype=torch.uint8), pair_maps[0, 1][None], 1.0)[0]
        check("a mean map's pixels equal overlay's colours exactly",
              canvas('canvas[data-pair="0"][data-show="true"]') == rgba(heat).flatten().tolist())
        k = data['check'][0]
        check("a label to check shows overlay's contrastive map exactly",
              canvas(f'#atlas canvas[data-mistake="{k}"][data-show="contrastive"]')
              == expected(test, atlases[0], data, k, 'contrastive', alpha))
        k = data['pairs'][0]['worst'][0]
        check("a worst example shows overlay's map exactly",
              canvas(f'#pair-1 canvas[data-mistake="{k}"][data-show="predicted"]')
              == expected(test, atlases[0], data, k, 'predicted', alpha))

        # A link of its own: #mistake-17 opens that mistake, when typed and when clicked.
        page.goto('about:blank')  # a fresh load, not a jump within the page
        page.goto(url + '#mistake-17')
        page.wait_for_selector('body[data-ready="yes"]')
        check('#mistake-17 opens mistake 17', position() == f'17 of {n}', position())
        exact('mistake 17 from its link', 0, 0.5)
        # Every worst example of the first pair opens the mistake that its link names, whichever mistakes this
        # machine's float32 run made; so does one whose link is the address already shown (no hashchange then).
        links = page.locator('#pair-1 a[href^="#mistake-"]')
        named = [int(href.split('-')[1]) for href in links.evaluate_all('as => as.map(a => a.getAttribute("href"))')]
        opened = []
        for k, target in enumerate(named):
            links.nth(k).click()
            page.wait_for_function('t => location.hash === t', arg=f'#mistake-{target}', timeout=5000)
            shown = int(position().split()[0])
            opened.append(shown == target and pixels() == expected(test, atlases[0], data, target - 1, 'predicted', 0.5))
        check('each worst example in the atlas opens the mistake its link names, with its maps',
              named and all(opened), f"links to {named}; opened as named: {opened}")
        page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
        links.nth(len(named) - 1).click()  # the address is already this mistake's
        in_view = page.evaluate("() => { const r = document.getElementById('viewer').getBoundingClientRect(); "
                                "return r.top < innerHeight && r.bottom > 0; }")
        check('a link to the mistake already shown brings the viewer back into view',
              in_view and position() == f'{named[-1]} of {n}', position())
        screenshot(page, 'report-1280')
        check('nothing overflows at 1280 px', page.evaluate('document.documentElement.scrollWidth') <= 1280)

        small = page.evaluate("""() => Array.from(document.querySelectorAll('body *')).filter(e =>
            e.childNodes.length && Array.from(e.childNodes).some(t => t.nodeType === 3 && t.textContent.trim()) &&
            e.offsetParent !== null && parseFloat(getComputedStyle(e).fontSize) < 12).map(e => e.tagName)""")
        check('no visible text under 12 px', not small, ', '.join(small[:5]))

        page.set_viewport_size({'width': 390, 'height': 844})
        page.goto('about:blank')
        page.goto(url + '#mistake-3')
        page.wait_for_selector('body[data-ready="yes"]')
        width = page.evaluate('document.documentElement.scrollWidth')
        check('nothing overflows at 390 px', width <= 390, f'scrollWidth {width}')
        screenshot(page, 'report-390')
        check('no console errors at the end', not errors, '; '.join(errors))

        page.goto(flawless.as_uri())
        page.wait_for_selector('body[data-ready="yes"]', timeout=30000)
        check('a page without mistakes loads without errors and says so',
              not errors and 'made no mistakes' in page.inner_text('#mistakes'), '; '.join(errors))
    check.done()


if __name__ == '__main__':
    main()
