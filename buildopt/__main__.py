from buildopt.cli import main

main()
