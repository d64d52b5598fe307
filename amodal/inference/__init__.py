"""amodal.inference"""
