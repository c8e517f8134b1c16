from segemu.cli import main

main()
