def spin(n):
    if n == 0:
        raise KeyboardInterrupt
    spin(n - 1)


print("spinning", flush=True)
spin(3)
