from optcompare.cli import main

main()
