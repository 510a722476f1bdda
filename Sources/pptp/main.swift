print("pptp")
