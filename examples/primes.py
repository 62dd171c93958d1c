"""Counts primes below a limit with a sieve, then shows the largest few."""
import sys


def sieve(limit):
    is_prime = [True] * limit
    is_prime[0] = is_prime[1] = False
    for i in range(2, int(limit**0.5) + 1):
        if is_prime[i]:
            for j in range(i * i, limit, i):
                is_prime[j] = False
    return [i for i, p in enumerate(is_prime) if p]


def main():
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    primes = sieve(limit)
    print(f"{len(primes)} primes below {limit:,}; the largest: {primes[-5:]}")


if __name__ == "__main__":
    main()
