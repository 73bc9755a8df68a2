import argparse

parser = argparse.ArgumentParser(prog="greeter")
parser.add_argument("--name", default="world")
print(f"hello {parser.parse_args().name}")
