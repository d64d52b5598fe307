"""amodal.losses"""
