"""Run every code block of README.md as a reader would paste it.

    python .ci/readme_blocks.py [README]                   # default: the repository's README.md
    python .ci/readme_blocks.py --skip-run --runs DIR      # reuse the runs/ folder of an earlier quick start

In a fresh temporary folder it runs the quick-start command (the ```sh block after `<!-- cmd:run -->`), then each
```python block in a fresh interpreter of its own (`MPLBACKEND=Agg`), in order, as someone pasting it into a new
Python session after the quick start would: a block that needs a name from an earlier block fails. Not run: the
install and test commands (`<!-- cmd:install -->`, `<!-- cmd:test -->`), which CI runs itself; Colab's `!pip` lines;
output blocks (``` with no language). `--runs DIR` copies DIR in as `runs/`; `--skip-run` leaves out the quick start.
Prints a line per block and exits 1 if any block fails, with the block's first line and the error's last lines.
"""
import argparse, os, re, shutil, subprocess, sys, tempfile, textwrap, time
from pathlib import Path

root = Path(__file__).resolve().parent.parent

def blocks(readme: str):
    "`(kind, line, code)` per fenced block; kind: its `<!-- cmd:kind -->` marker, or python, pip, output or other."
    lines, marker, i = readme.splitlines(), None, 0
    while i < len(lines):
        if m := re.fullmatch(r'<!--\s*cmd:(\w+)\s*-->', lines[i].strip()): marker = m[1]
        elif m := re.match(r'\s*(```+|~~~+)\s*\{?([\w+-]*)', lines[i]):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip().startswith(m[1])
                        and not lines[j].strip().strip(m[1][0])), len(lines))
            code, lang = textwrap.dedent('\n'.join(lines[i + 1:end])) + '\n', m[2].lower()
            if marker: kind = marker
            elif lang in ('python', 'py', 'python3'): kind = 'python'
            elif lang in ('sh', 'bash', 'shell') and re.match(r'[!%]pip\b', code.lstrip()): kind = 'pip'
            else: kind = 'output' if not lang else 'other'
            yield kind, i + 1, code
            marker, i = None, end
        elif lines[i].strip(): marker = None  # a marker belongs to the block right after it
        i += 1

def first_line(code): return code.strip().splitlines()[0] if code.strip() else '(empty)'

def last_lines(text, n=6): return textwrap.indent('\n'.join(text.strip().splitlines()[-n:]) or '(no output)', '    ')

SKIPPED = {'install': 'the install command: CI has installed', 'test': 'the test command: CI runs it',
           'pip': "Colab's pip install", 'output': 'output, not code'}

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('readme', nargs='?', default=root / 'README.md', type=Path)
    parser.add_argument('--skip-run', action='store_true', help='do not run the quick-start command')
    parser.add_argument('--runs', type=Path, help='a runs/ folder to copy into the temporary folder')
    args = parser.parse_args()
    found = list(blocks(args.readme.read_text()))
    runs = [k for k, _, _ in found].count('run')
    if runs != 1 and not args.skip_run:
        sys.exit(f"{args.readme} has {runs} quick-start commands (a block after <!-- cmd:run -->); expected one")
    env, failed = {**os.environ, 'MPLBACKEND': 'Agg'}, []
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as scripts:
        if args.runs: shutil.copytree(args.runs, Path(tmp) / 'runs')
        for kind, line, code in found:
            where = f"line {line} ({kind}: `{first_line(code)}`)"
            if kind in SKIPPED or (kind == 'run' and args.skip_run):
                print(f"{where}: skipped, {SKIPPED.get(kind, '--skip-run')}")
                continue
            if kind not in ('run', 'python'):
                print(f"{where}: skipped, not a block this script knows how to run")
                continue
            start = time.time()
            if kind == 'run': done = subprocess.run(code, shell=True, cwd=tmp, env=env, capture_output=True, text=True)
            else:  # a file rather than -c, so that the traceback shows the failing line
                script = Path(scripts) / f'readme_line_{line}.py'
                script.write_text(code)
                done = subprocess.run([sys.executable, script], cwd=tmp, env=env, capture_output=True, text=True)
            if done.returncode == 0: print(f"{where}: ok ({time.time() - start:.0f}s)")
            else:
                failed.append(where)
                print(f"{where}: FAILED (exit status {done.returncode})\n{last_lines(done.stderr or done.stdout)}")
    if failed: sys.exit(f"{len(failed)} README code blocks failed: " + '; '.join(failed))
    print("every README code block ran")

if __name__ == '__main__': main()
