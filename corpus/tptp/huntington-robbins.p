% commutativity, associativity and Huntington's axiom imply Robbins' equation: Theorem
fof(commutativity, axiom, ![X,Y]: p(X,Y) = p(Y,X)).
fof(associativity, axiom, ![X,Y,Z]: p(p(X,Y),Z) = p(X,p(Y,Z))).
fof(huntington, axiom, ![X,Y]: p(n(p(n(X),Y)),n(p(n(X),n(Y)))) = X).
fof(goal, conjecture, ![X,Y]: n(p(n(p(X,Y)),n(p(X,n(Y))))) = X).
