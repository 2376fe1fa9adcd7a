from labdcs.cli import main

main()
