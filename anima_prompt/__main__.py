"""`python -m anima_prompt` runs the `anima` command."""

from anima_prompt.cli import main

main()
