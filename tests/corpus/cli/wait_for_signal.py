import time

print("ready", flush=True)
for _ in range(600):
    time.sleep(0.1)
