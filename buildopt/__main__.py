from buildopt.cli.main import main

main()
