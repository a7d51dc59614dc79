# Chinese NER: character n-grams in a window of 7.
# Column 0 = character (further columns are ignored); labels BIO or BMES.
U00:%x[-3,0]
U01:%x[-2,0]
U02:%x[-1,0]
U03:%x[0,0]
U04:%x[1,0]
U05:%x[2,0]
U06:%x[3,0]
U10:%x[-2,0]/%x[-1,0]
U11:%x[-1,0]/%x[0,0]
U12:%x[0,0]/%x[1,0]
U13:%x[1,0]/%x[2,0]
U14:%x[-1,0]/%x[1,0]
U20:%x[-2,0]/%x[-1,0]/%x[0,0]
U21:%x[-1,0]/%x[0,0]/%x[1,0]
U22:%x[0,0]/%x[1,0]/%x[2,0]
B
