"""`python -m grader` is the `nngrader` command."""

from grader.cli import main

if __name__ == "__main__":
    main()
