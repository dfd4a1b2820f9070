"""Wall time of the README's first run, `cifar_gradcam_run --data shapes`, stage by stage.

It runs the installed command in a fresh temporary folder, as a newcomer would, and timestamps each line the
command prints (the stages `[1/6] data` .. `[6/6] report`, the epochs). The target: the whole run in under 3 minutes
on 2 CPU cores. Results are printed and written to bench/results/run_time.json.

Run:  python bench/run_time.py [-- extra options for cifar_gradcam_run]
"""
import json, os, platform, shutil, subprocess, sys, tempfile, time
from pathlib import Path

import torch

def main(extra):
    command = [shutil.which('cifar_gradcam_run') or sys.exit('cifar_gradcam_run is not installed: pip install -e .'),
               '--data', 'shapes', *extra]
    folder = tempfile.mkdtemp()
    start = time.time()
    proc = subprocess.Popen(command, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    stages = []
    for line in proc.stdout:
        stages.append((round(time.time() - start, 1), line.rstrip()))
        print(f"{stages[-1][0]:7.1f}s  {stages[-1][1]}", flush=True)
    if proc.wait(): sys.exit(f"cifar_gradcam_run failed with exit status {proc.returncode}")
    total = time.time() - start
    report = Path(folder) / 'runs' / 'shapes' / 'report.html'
    assert report.exists(), f"no report at {report}"
    result = dict(command=' '.join(command[1:]), seconds=round(total, 1), under_3_minutes=total < 180, stages=stages,
                  cpus=os.cpu_count(), threads=torch.get_num_threads(), torch=torch.__version__,
                  python=platform.python_version())
    out = Path(__file__).resolve().parent / 'results' / 'run_time.json'
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"\ncifar_gradcam_run --data shapes: {total:.0f}s in all ({'under' if total < 180 else 'OVER'} 3 minutes) "
          f"on {os.cpu_count()} CPUs; report {report}; results in {out}")
    shutil.rmtree(folder)

if __name__ == '__main__': main(sys.argv[2:] if sys.argv[1:2] == ['--'] else sys.argv[1:])
