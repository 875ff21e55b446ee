# Lead capture and exports arrive with their own issue; the app is in place so the
# layout, URLs and settings already account for it.
