from optcompare.console import main

main()
