"""What the browser tests share: Debian's Chromium driven by Playwright, and a folder for screenshots.

Playwright's own browser download cannot run everywhere, so the tests launch the system browser
(`/usr/bin/chromium`, or `$CHROMIUM`). Screenshots go to `browser-screenshots/` at the top of the checkout
(ignored by git), for a person to look at.
"""
import os
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / 'browser-screenshots'
CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')
ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync']


@contextmanager
def browser():
    "A headless Chromium (Playwright's `Browser`), closed on exit."
    from playwright.sync_api import sync_playwright
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"no browser at {CHROMIUM}: install Debian's chromium package or set $CHROMIUM")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try: yield b
        finally: b.close()


def screenshot(page, name: str) -> Path:
    "Save a screenshot of `page` as `browser-screenshots/<name>.png`."
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f'{name}.png'
    page.screenshot(path=str(path), full_page=True)
    return path


class Checks:
    "Named checks that all run and are reported, and fail the script at the end if any failed."
    def __init__(self): self.passed, self.failed = 0, []
    def __call__(self, name: str, ok: bool, detail: str = ''):
        print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
        if ok: self.passed += 1
        else: self.failed.append(name)
    def done(self):
        print(f"{self.passed} passed, {len(self.failed)} failed")
        if self.failed: raise SystemExit(1)
