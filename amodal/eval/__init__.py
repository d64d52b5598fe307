"""amodal.eval"""
